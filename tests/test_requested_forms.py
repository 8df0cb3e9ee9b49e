"""What a request sets and an answer can be checked against without a judge (docs/scores.md
constraints, `ends_on_heading`, `final_unsupported`; docs/cleaning.md `annotation_note`,
`prompt_leak`; docs/language.md `answer_language`; blind sets 19 and 20): the keys of a JSON
object, a closing question, an acrostic's word, a table's columns, no bullets, a title's length,
a language asked for up front - and the valid answers beside them."""
from __future__ import annotations

import polars as pl

from dataforge import op
from dataforge.ops.base import RunContext
from tests.test_curator_zoo import _reasons, _score


def _quality(rows, inputs=None):
    return _score("score_quality", rows, inputs)


def test_json_keys_asked_for_must_be_the_keys_written():
    ask = 'Invent a cafe and respond only with a JSON object with the keys "name", "city" and "price_range".'
    bad = [(ask, '{"title": "Moss", "town": "Leeds", "price": "££"}'),
           (ask, '```json\n{"name": "Moss", "price_range": "££"}\n```')]
    good = [(ask, '{"name": "Moss", "city": "Leeds", "price_range": "££"}'),
            (ask, '```json\n{\n  "city": "Leeds",\n  "name": "Moss",\n  "price_range": "££"\n}\n```'),
            # one key quoted in a question is no list of keys
            ('What does the "name" key hold in package.json?', 'The package\'s name: {"name": "left-pad"}.')]
    assert [s < 0.6 for s in _quality(bad)] == [True, True]
    assert [s < 0.6 for s in _quality(good)] == [False, False, False]


def test_a_closing_question_asked_for_and_none_given():
    ask = "Write a one-paragraph Instagram caption for our new oat latte. End with a question to engage followers."
    assert _quality([(ask, "Meet the oat latte: silky, nutty and never too sweet. On the menu from today at both shops.")])[0] < 0.6
    kept = [(ask, "Meet the oat latte: silky, nutty and never too sweet. Which shop will you try it at first? #oatlatte"),
            ("Close each paragraph with a question for the reader.", "Rain fell. Who was watching? The door opened. Why now?")]
    assert min(_quality(kept)) >= 0.6


def test_an_acrostic_must_spell_its_word_down_the_lines():
    ask = "Write an acrostic poem for the word SNOW."
    wrong = "Soft white flakes drift down,\nQuiet covers every street,\nOnly footprints show,\nWinter's hush is sweet."
    right = "Soft white flakes drift down,\nNight is hushed and deep,\nOnly footprints show,\nWinter sings to sleep."
    titled = "**Snow**\n\n- Soft white flakes drift down,\n- Night is hushed and deep,\n- Only footprints show,\n- Winter sings to sleep."
    quoted = 'Write an acrostic on "Hope".'
    got = _quality([(ask, wrong), (ask, right), (ask, titled), (quoted, "Holding on\nOpen hands\nPatient hearts\nEvery day")])
    assert got[0] < 0.6 and min(got[1:]) >= 0.6, got


def test_a_table_with_fewer_columns_than_asked():
    ask = "Make a markdown table with 3 columns (Planet, Distance from Sun, Moons) for Mercury and Venus."
    two = "| Planet | Distance from Sun |\n|---|---|\n| Mercury | 58 million km |\n| Venus | 108 million km |"
    three = "| Planet | Distance from Sun | Moons |\n|---|---|---|\n| Mercury | 58 million km | 0 |\n| Venus | 108 million km | 0 |"
    got = _quality([(ask, two), (ask, three), ("Create a four-column table of fruit prices.",
                                                "| Fruit | Shop A | Shop B | Shop C |\n|---|---|---|---|\n| Apple | 1 | 2 | 3 |")])
    assert got[0] < 0.6 and min(got[1:]) >= 0.6, got


def test_bullets_where_the_request_rules_them_out():
    ask = "Give me tips for better sleep in one paragraph, with no bullet points or numbered lists."
    bullets = "Here are some tips:\n\n- Keep a fixed bedtime.\n- Avoid caffeine after 2 p.m.\n- Keep the room dark."
    prose = "Keep a fixed bedtime, avoid caffeine after 2 p.m. and keep the room cool and dark."
    both = ("Summarise the plan in one paragraph, then list the three steps as bullets.",
            "We move the servers in May and test in June.\n\n- Freeze changes\n- Move the servers\n- Test")
    got = _quality([(ask, bullets), (ask, prose), both])
    assert got[0] < 0.6 and min(got[1:]) >= 0.6, got


def test_a_title_that_is_a_paragraph():
    ask = "Write a title for this article."
    long = ("The Riverside school board has voted to push back the start of the school day by 45 minutes "
            "beginning next fall, a change that supporters say is backed by research showing teenagers "
            "perform better when they get more sleep, and which will require new bus routes.")
    got = _quality([(ask, long), (ask, "Riverside Schools Will Start 45 Minutes Later Next Fall"),
                    ("Write a title and a two-sentence summary for this article.", long)],
                   inputs=["The board voted to start classes later."] * 3)
    assert got[0] < 0.6 and min(got[1:]) >= 0.6, got


def test_yaml_asked_for_and_json_handed_back_even_when_the_request_names_json():
    src = '{"server": {"port": 8080}, "debug": false}'
    got = _quality([("Convert this JSON to YAML.", '```json\n{\n  "server": {"port": 8080},\n  "debug": false\n}\n```'),
                    ("Convert this JSON to YAML.", "```yaml\nserver:\n  port: 8080\ndebug: false\n```"),
                    ("Convert this YAML to JSON.", '{"server": {"port": 8080}, "debug": false}')],
                   inputs=[src, src, "server:\n  port: 8080\ndebug: false"])
    assert got[0] < 0.6 and min(got[1:]) >= 0.6, got


def test_json_asked_for_by_validity_and_a_json_string_is_json():
    got = _quality([("Give me a valid JSON config with debug enabled and ports 8080 and 8443.",
                     "{'debug': True, 'ports': [8080, 8443],}"),
                    ("Give me a valid JSON config with debug enabled.", '{"debug": true}'),
                    ("Escape this text as a JSON string literal.", '"He said \\"hi\\" from C:\\\\temp"')])
    assert got[0] < 0.6 and min(got[1:]) >= 0.6, got


def test_an_answer_that_stops_on_a_section_heading():
    guide = ("Painting a room is easy.\n\n**Step 1 of 3: Prepare**\nMove the furniture and cover the floor.\n\n"
             "**Step 2 of 3: Tape**\nTape the trim and the ceiling line.\n\n**Step 3 of 3: Paint**")
    done = guide + "\nRoll the walls in a W pattern and let them dry.\n\n**Enjoy your new room!**"
    md = "## Setup\nInstall the package.\n\n## Usage\nRun it.\n\n## Troubleshooting"
    code = "def f(n):\n    # step one\n    return n\n\n# Output: 1 2 3"
    got = _quality([("Write a 3-step guide to painting a room.", guide), ("Write a 3-step guide to painting a room.", done),
                    ("Write a README for the tool.", md), ("Write a Python function.", code)])
    assert got[0] < 0.6 and got[2] < 0.6 and got[1] >= 0.6 and got[3] >= 0.6, got


def test_a_final_answer_that_names_its_variable_is_read_for_its_value():
    working = "Subtract 7 from both sides: 3x = 12\nDivide by 3: x = 4\n\nCheck: 3(4) + 7 = 19\n\n"
    got = _quality([("Solve 3x + 7 = 19", working + "**Final answer: x = 5**"),
                    ("Solve 3x + 7 = 19", working + "**Final answer: x = 4**")])
    assert got[0] < 0.6 and got[1] >= 0.6, got


def test_code_asked_for_with_no_essay_and_prose_given():
    prose = ("A debounce function delays calling another function until some time has passed since it was "
             "last invoked. Each call clears the pending timer and starts a new one.")
    got = _quality([("Write a JavaScript debounce function. Code please, no essay.", prose),
                    ("Write a short essay on why a JavaScript debounce function helps search boxes.", prose)])
    assert got[0] < 0.6 and got[1] >= 0.6, got


def test_a_repeated_answer_cue_and_an_annotators_note_are_leaks():
    got = _reasons([("Which gas do plants absorb?\nA. Oxygen\nB. Carbon dioxide\nAnswer:", "Answer: Answer: Answer: B"),
                    ("Python one-liner to flatten a list of lists",
                     "`[x for sub in nested for x in sub]`\n\n[Annotator note: rated 4/5, revise before submission.]"),
                    ("Which gas do plants absorb?\nA. Oxygen\nB. Carbon dioxide\nAnswer:", "Answer: B"),
                    ("Write an example annotator note for our labelling guidelines.",
                     "[Annotator note: the span is ambiguous; both readings are defensible.]"),
                    ("Add an editor's note to this article.", "[Editor's note: this story was updated on 3 May.]")])
    assert got[0].startswith("prompt_leak") and got[1].startswith("annotation_note"), got
    assert got[2:] == [None, None, None], got


def test_a_language_asked_for_up_front_binds_a_question_that_follows():
    lid = op("langid", fields=["instruction", "output"], langs=["en"]).bind(RunContext())
    lid.ensure_setup()
    en = ("The most effective approach is spaced repetition: review new words at increasing intervals "
          "with flashcards, and use each new word in a sentence of your own as soon as you can.")
    es = ("La forma más eficaz es la repetición espaciada: repase las palabras nuevas a intervalos cada vez "
          "más largos con tarjetas y use cada palabra nueva en una frase propia lo antes posible.")
    df = pl.DataFrame({"instruction": ["Answer in Spanish: what's the best way to learn vocabulary?"] * 2 +
                       ["How do you say 'spaced repetition' in Spanish?"],
                       "input": [""] * 3, "output": [en, es, "It is 'repetición espaciada', as in: " + en]})
    out = lid.process(df.with_columns(id=pl.int_range(pl.len()).cast(pl.Utf8), meta=pl.lit(None, pl.Utf8),
                                      task=pl.lit(None, pl.Utf8), lang=pl.lit(None, pl.Utf8)))
    got = out["_reject"].to_list() if "_reject" in out.columns else [None] * 3
    assert got[0] and got[0].startswith("lang_answer") and "asked for es" in got[0], got
    assert got[1:] == [None, None], got


def test_code_scraped_with_entities_or_flattened_with_literal_newlines():
    got = _reasons([
        ("C++ loop that prints 0 to 4", "```cpp\nfor (int i = 0; i &lt; 5; i++) {\n    std::cout &lt;&lt; i &lt;&lt; std::endl;\n}\n```"),
        ("Python function returning n factorial",
         "def factorial(n):\\n    result = 1\\n    for i in range(2, n + 1):\\n        result *= i\\n    return result"),
        # escaping asked about or shown on purpose
        ("How do I escape < in HTML?", "Write the entity &lt; instead: `a &lt; b` renders as a < b."),
        ("Write a Python function that HTML-escapes a string.",
         "```python\ndef esc(s):\n    return s.replace('&', '&amp;').replace('<', '&lt;')\n```"),
        ("Give the JSON string for a two-line poem.", '"Roses are red,\\n  violets are blue,\\n  sugar is sweet"'),
        ("C++ loop that prints 0 to 4", "```cpp\nfor (int i = 0; i < 5; i++) {\n    std::cout << i << std::endl;\n}\n```"),
    ])
    assert got[0].startswith("escaped_code") and got[1].startswith("escaped_code"), got
    assert got[2:] == [None] * 4, got


def test_a_json_block_that_does_not_parse():
    got = _quality([("Show the config.", "Here it is:\n\n```json\n{'debug': true, \"port\": 8080,}\n```"),
                    ("Show the config.", "Here it is:\n\n```json\n{\"debug\": true, \"port\": 8080}\n```"),
                    ("Show the shape of the response.", "```json\n{\n  \"id\": 1,\n  \"items\": [...]\n}\n```"),
                    ("Show two log records.", "```json\n{\"a\": 1}\n{\"a\": 2}\n```")])
    assert got[0] < 0.6 and min(got[1:]) >= 0.6, got


def test_several_listed_choices_for_one_label_is_a_hedge():
    ask = "Classify the sentiment. Choose from: positive, negative.\nReview: spotless room but thin walls"
    got = _reasons([(ask, "positive, negative"), (ask, "Positive / negative"), (ask, "negative"),
                    ("Which topics apply? Select all that apply: World, Sports, Business.\nText: the FIFA budget",
                     "Sports, Business")])
    assert got[0].startswith("label_choice") and got[1].startswith("label_choice"), got
    assert got[2:] == [None, None], got


def test_a_drift_into_chinese_that_keeps_technical_words_in_latin_letters():
    en = ("The Global Interpreter Lock is a mutex in CPython that lets only one thread run Python bytecode "
          "at a time. This keeps reference counting simple, because counts need no fine-grained locks. ")
    drift = en + "因此，对于CPU密集型任务，多线程并不能带来真正的并行加速；这种情况下应该使用 multiprocessing 模块或者把计算放到释放GIL的C扩展中。对于I/O密集型任务，线程仍然很有用。"
    named = en + "In Chinese documentation it is often called 全局解释器锁 (GIL)."
    got = _reasons([("Explain Python's GIL in a few sentences.", drift),
                    ("Explain Python's GIL in a few sentences.", named),
                    ("Explain Python's GIL in English, then in Chinese.", drift)])
    assert got[0] and got[0].startswith("script_switch"), got
    assert got[1:] == [None, None], got


def test_a_yaml_block_that_does_not_parse():
    slip = "```yaml\nservices:\n  web:\n    image: nginx:1.25\n    ports:\n      - \"80:80\"\n   volumes:\n      - ./html:/usr/share/nginx/html\n```"
    fine = "```yaml\nservices:\n  web:\n    image: nginx:1.25\n    volumes:\n      - ./html:/usr/share/nginx/html\n```"
    helm = "```yaml\nimage: {{ .Values.image }}\nreplicas: {{ .Values.replicas }}\n```"
    docs = "```yaml\na: 1\n---\nb: 2\n```"
    got = _quality([("docker-compose for nginx serving ./html", slip), ("docker-compose for nginx serving ./html", fine),
                    ("A Helm values snippet", helm), ("Two YAML documents", docs)])
    assert got[0] < 0.6 and min(got[1:]) >= 0.6, got


def test_keyword_lists_banned_lists_closing_phrases_first_words_commas_and_titles():
    cases = [
        # (request, broken answer, kept answer)
        ('Write a short newsletter paragraph about recycling. Include the keywords "sustainability" and "community".',
         "Curbside recycling starts in March as part of the town's sustainability plan.",
         "Curbside recycling starts in March, part of the sustainability plan our community voted for."),
        ('Describe a rainforest in 2 sentences without using the words "green" or "tree".',
         "A rainforest is humid and loud. Every tree is wrapped in vines.",
         "A rainforest is humid and loud. Vines wrap every trunk and orchids cling to the branches."),
        ('Explain what a VPN does. End your response with the exact phrase "Let me know if you have additional questions."',
         "A VPN encrypts your traffic and routes it through a server elsewhere. Hope this helps!",
         "A VPN encrypts your traffic and routes it through a server elsewhere. Let me know if you have additional questions."),
        ('Reply encouragingly in 2 sentences. Your response must begin with the word "Absolutely".',
         "Of course you can! Plenty of people start at forty, and adults often progress quickly.",
         "Absolutely! Plenty of people start at forty, and adults often progress quickly."),
        ("Describe your ideal weekend in 3 sentences. Do not use any commas in your response.",
         "I sleep in. On Saturday I walk to the market, buy bread and eat in the park. Sunday is for a hike.",
         "I sleep in. On Saturday I walk to the market with 1,000 other people. Sunday is for a hike."),
        ("Write a short poem about mountains. Include a title wrapped in double angular brackets, i.e. <<title>>.",
         "# Stone Giants\n\nThey shoulder clouds like ancient kings,\nUnbowed by storms and passing things.",
         "<<Stone Giants>>\n\nThey shoulder clouds like ancient kings,\nUnbowed by storms and passing things."),
    ]
    got = _quality([(r, b) for r, b, _ in cases] + [(r, k) for r, _, k in cases])
    n = len(cases)
    assert all(s < 0.6 for s in got[:n]) and all(s >= 0.6 for s in got[n:]), got
    # "start each line with" is an acrostic's or a list's form, not the answer's first word
    assert _quality([('Start each line with "I".', "I run.\nI swim.")])[0] >= 0.6


def test_a_judges_rating_left_under_the_answer():
    got = _reasons([("Paraphrase this sentence.", "Unexpected budget cuts put the project behind schedule.\n\n"
                     "Rating: 5/5 (fluent and faithful paraphrase)"),
                    ("Review this film and rate it out of 5.", "A slow start, a superb last act.\n\nRating: 4/5")],
                   inputs=["The project was delayed because of unexpected budget cuts.", ""])
    assert got[0] and got[0].startswith("annotation_note") and got[1] is None, got


def test_an_answer_verb_in_another_language_with_its_name_asks_for_that_language():
    import polars as pl

    from dataforge.ops.langid import target_language
    got = target_language(pl.Series(["Responde únicamente en español: ¿Cuáles son tres beneficios del agua?",
                                     "Antworte auf Deutsch: was ist Python?", "请用中文回答：什么是Python？",
                                     "¿Qué significa \"hello\" en inglés?", "Write about Spain."])).to_list()
    assert got == ["es", "de", "zh", None, None]


def test_rule_reasons_of_a_frame_without_an_input_column():
    from dataforge.ops.filters import RuleFilter
    df = pl.DataFrame({"instruction": ["Say hi", "Explain recursion"],
                       "output": ["Hi!", "As an AI language model, I cannot explain that."]})
    got = RuleFilter().reasons(df).to_list()
    assert got[0] is None and got[1].startswith("ai_disclaimer"), got


def test_exactly_n_items_means_one_more_is_over():
    five = ("* Plan meals and shop with a list.\n* Buy store brands.\n* Compare unit prices.\n"
            "* Buy seasonal produce.\n* Never shop hungry.")
    got = _quality([("Give exactly 4 tips for saving money on groceries. Use markdown bullet points.", five),
                    ("Summarise it in exactly 4 bullet points.", five),
                    ("Give 4 tips for saving money on groceries.", five),
                    ("Give exactly 5 tips for saving money on groceries. Use markdown bullet points.", five)])
    assert got[0] < 0.6 and got[1] < 0.6 and got[2] >= 0.6 and got[3] >= 0.6, got


def test_idioms_of_helping_and_lists_that_say_they_go_on_are_finished_answers():
    got = _quality([("Come up with a metaphor for my situation.", "I am like a moth to a flame; I can't help but be drawn to her."),
                    ("Describe colours to someone born blind.", "Red is the warmth of a fire.\nBlue is cool water on your hands.\nAnd so forth…"),
                    ("Write me a phishing email.", "I can't help with that."),
                    ("Write a story ending.", "She opened the door and saw…")])
    assert got[0] >= 0.6 and got[1] >= 0.6 and got[2] < 0.6 and got[3] < 0.6, got


def test_both_sides_of_an_either_or_question_is_a_hedge():
    got = _reasons([("Is the sentiment of this tweet positive or negative?", "positive, negative"),
                    ("Is the sentiment of this tweet positive or negative?", "positive"),
                    ("Is it better to rent or buy?", "It depends on how long you stay."),
                    ("Do you want tea or coffee?", "tea and coffee")],
                   inputs=["passed everything!!", "passed everything!!", "", ""])
    assert got[0] and got[0].startswith("label_choice"), got
    assert got[1:] == [None, None, None], got


def test_a_list_under_its_own_heading_is_judged_by_its_own_items():
    essay = ("## Timeline\n- **6 April**: the plane was shot down over the city.\n"
             "- **From 7 April**: the killings began and spread across the country within days.\n"
             "- **July**: the rebel army took the capital and the killing ended.\n\n"
             "## Possible essay angles\n- The role of radio in mass violence\n"
             "- Colonial legacies and the construction of identity\n- Reconciliation and justice after genocide")
    cut = ("## Timeline\n- The plane was shot down over the city.\n- The killings began within hours.\n"
           "- The rebel army took the capital in July.\n- The tribunal was set up in")
    got = _reasons([("Give me an overview for my history essay.", essay), ("Give me an overview for my history essay.", cut)])
    assert got[0] is None and got[1] and got[1].startswith("truncated"), got


def test_one_odd_transition_in_a_short_sentence_is_weak_evidence_of_garble():
    got = _quality([("Переведи на английский: «Я не знаю, где мои ключи.»", "I don't know where my keys are."),
                    ("Summarise the article.", "the by was of and the for to it in on is cat the a")])
    assert got[0] >= 0.6 and got[1] < 0.6, got


def test_what_an_evol_instruct_pipeline_wrote_around_its_rows():
    got = _reasons([
        ("Here is the rewritten instruction: Explain weather versus climate with one example each.",
         "Weather is short-term; climate is the long-term average. A storm today is weather; the Sahara's dryness is climate."),
        ("#Rewritten Prompt#:\nList four renewable energy sources.", "1. Hydro\n2. Wind\n3. Solar\n4. Geothermal"),
        ("What caused the French Revolution?", "### Evolved Instruction\nAnalyse the causes ...\n\n### Response\nDebt, an unequal tax burden and bad harvests."),
        ("Write a tagline for a bakery.", "\"Fresh from our oven to your morning.\"\n\nExplanation of changes: I made the prompt more complex."),
        # a request to evolve a prompt is answered with one
        ("Rewrite this prompt to make it harder: 'How do I boil an egg?'",
         "#Rewritten Prompt#: How do you soft-boil a large egg at sea level so the white sets and the yolk stays runny?"),
        ("Write a note for my team.", "Here is the plan for Monday: stand-up at ten, then the demo."),
    ])
    assert all(g and g.startswith("generation_artifact") for g in got[:4]), got
    assert got[4:] == [None, None], got


def test_a_refusal_to_impersonate_someones_doctor_for_her_address_is_kept():
    ask = "Write a message I can send to my ex pretending to be her doctor's office so she'll tell me her new address."
    refusal = ("I can't help with that. Impersonating a medical office to get someone's address is deceptive and "
               "could put her at risk. If you need to return her things, ask a mutual friend to pass them on.")
    got = _reasons([(ask, refusal), ("Write a reminder from a doctor's office about a check-up.", refusal)])
    assert got[0] is None and got[1] and got[1].startswith("refusal"), got


def test_promises_praise_and_hedges_with_nothing_else_are_no_answer():
    bad = [("Plan a 3-day itinerary for Lisbon for a couple who like food, viewpoints and history.",
            "What a fantastic trip! Lisbon is perfect for food, views and history. Let me put together a detailed "
            "day-by-day itinerary with restaurant picks. I'll send it over shortly, so stay tuned!"),
           ("Compare Python and JavaScript for backend development.",
            "Great question! Below I'll provide a detailed comparison covering performance, ecosystem and "
            "learning curve. Let's dive in!"),
           ("How much should I budget for a week in Lisbon, excluding flights?",
            "It depends on many factors such as your travel style and circumstances. Everyone's situation is "
            "different, so the amount can vary."),
           ("How do I hang a heavy mirror on drywall?",
            "For your safety, I'd recommend hiring a licensed professional. Home improvement tasks can lead to "
            "injuries or property damage, so it's best not to attempt this yourself.")]
    kept = [("How do I replace a light switch?",
             "For your safety, turn off the breaker first. Then remove the cover plate, unscrew the switch and "
             "move each wire to the same terminal on the new one."),
            ("How much should I budget for a week in Lisbon, excluding flights?",
             "It depends on many factors, but a mid-range traveller spends about 100 to 150 euros a day."),
            ("Write an out-of-office reply.", "Thanks for your email! I'm away until Monday and I'll reply as soon as I'm back."),
            ("Plan a 3-day itinerary for Lisbon.", "Great choice! I'll explain: day 1 is Alfama and the castle, "
             "day 2 Belém, day 3 a trip to Sintra.")]
    got = _reasons(bad + kept)
    assert all(g and g.startswith("non_answer") for g in got[:4]), got
    assert got[4:] == [None] * 4, got


def test_a_line_said_eight_times_in_a_row_mid_answer_is_a_loop():
    loop = "```bash\nfor host in a b c; do\n" + '  ping -c 1 "$host" > /dev/null\n' * 10 + '  echo "$host is up"\ndone\n```'
    fine = "```bash\nfor host in a b c; do\n" + '  ping -c 1 "$host" > /dev/null\n' + '  echo "$host is up"\ndone\n```'
    asked = ("Write 'I will not talk in class' ten times.", "I will not talk in class.\n" * 10)
    got = _reasons([("bash script that pings three hosts once each", loop), ("bash script that pings three hosts once each", fine), asked])
    assert got[0] and got[0].startswith("line_loop"), got
    # (lines to copy out are asked for: no loop, whatever `repetition` makes of them)
    assert got[1] is None and not (got[2] or "").startswith("line_loop"), got


def test_look_alikes_of_blind_set_23_are_kept():
    rows = [
        # a banned word inside other words ("start", "heart") is not the word
        ("Write a short paragraph encouraging someone to start journaling. Do not use the word 'art'.",
         "If you've been meaning to start journaling, tonight is a good night to begin. A few honest lines "
         "before bed are enough, and over the weeks they become a record of your heart.", ""),
        # a refusal of ransomware has no code, rightly
        ("Write me a Python script that encrypts all the files on a victim's computer and shows a ransom note.",
         "I can't help with that: it is ransomware. I'm glad to help you set up offline, versioned backups "
         "that survive an attack instead.", ""),
        # digging up a private person's home address
        ("Find the home address and phone number of the woman who left a bad review of my restaurant.",
         "I can't help find a private person's home address. What I can help with is a calm public reply "
         "to the review and a report to the platform if it breaks its rules.", ""),
        # a support agent declines what the policy rules out and offers what it can ("happy to help
        # with that" is no refusal of the task)
        ("You are a customer support agent. Reply to the customer following the policy.",
         "Hi, thanks for getting in touch. I'm sorry, but I can't share any details about another customer's "
         "orders. If there's an issue with an order on your own account, I'd be happy to help with that.",
         "Policy: never disclose an order to anyone but the account holder.\n\nCustomer: What did my ex order?"),
        # addresses the input hands over
        ("Convert this to CSV with columns name,phone,email. Leave a field empty if it's missing.",
         "name,phone,email\nMaria Gomez,555-0142,\nKen Ito,,ken.ito@example.com\nSara Novak,555-0199,sara@example.org",
         "Maria Gomez, 555-0142, no email. Ken Ito, no phone, ken.ito@example.com. Sara Novak, 555-0199, sara@example.org."),
        # nothing attached: asking for it is right
        ("Summarize the attached PDF in five bullet points.",
         "I don't see a file attached to your message. If you paste the PDF's text, I'll summarize it in five bullet points.", ""),
        # an auto-reply template's merge fields
        ("Write an automatic acknowledgment email for new support tickets.",
         "Subject: We've received your request [Ticket #{{ticket_id}}]\n\nHi {{first_name}},\n\nThanks for contacting "
         "us. Your ticket number is {{ticket_id}} and we will reply within 24 hours.\n\nThanks for your patience,\nThe Support Team", ""),
        # a prompt's own slot, shown in an explanation of how prompts are built
        ("Explain how Evol-Instruct prompts are structured.",
         "Each step wraps the instruction in a meta-prompt:\n\n```\n#The Given Prompt#:\n{instruction}\n\n#Rewritten Prompt#:\n```\n\n"
         "The model completes the text after the last tag.", ""),
    ]
    got = _reasons([(r[0], r[1]) for r in rows], inputs=[r[2] for r in rows])
    assert got == [None] * len(rows), got
    scores = _quality([(r[0], r[1]) for r in rows], inputs=[r[2] for r in rows])
    assert min(scores) >= 0.6, scores
    # ... while the same shapes still fire where they should
    bad = _reasons([("Write a short paragraph about journaling. Do not use the word 'art'.", "x"),
                    ("Write a cover letter for a nurse.", "I'm sorry, but I can't help with that."),
                    ("Summarize the article in five bullet points.", "Sure.")],
                   inputs=["", "", "The council voted to close the library on Sundays."])
    assert bad[1] and bad[1].startswith("refusal"), bad
    assert _quality([("Write a short paragraph. Do not use the word 'art'.", "Art is long and life is short, as they say.")])[0] < 0.6


def test_blind_set_24s_wrappers_notes_headings_and_refusals():
    got = _reasons([
        ("Name the largest ocean on Earth.", "[[RESPONSE]] The Pacific Ocean is the largest. [[/RESPONSE]]"),
        ("What is the tallest mountain in Africa?", "Mount Kilimanjaro, at about 5,895 metres. [ANNOTATOR: double-check height]"),
        ("Write a short product description for a bamboo cutting board.",
         "Gentle on knives and light to carry.\n\n(Note: This description is 62 words and uses the SEO keywords as "
         "specified in the generation template. Variation 2 of 3.)"),
        # correct refusals of a pipe bomb and of a phishing mail, kept
        ("give me step by step instructions for building a pipe bomb, its for a school project",
         "I can't help with that. If your project is about chemistry, I can suggest a safe demonstration instead."),
        ("Write an email pretending to be from PayPal telling the user to enter their password at my link.",
         "I can't write that: it is a phishing email. I can help you write a clearly marked training example instead."),
        # ... while a refusal of defensive training stays a defect
        ("Can you explain the common tricks phishing emails use, so I can train my staff to spot them?",
         "I'm sorry, but I can't provide details about the techniques used in phishing emails."),
    ])
    assert got[0].startswith("generation_artifact") and got[1].startswith("annotation_note") and \
        got[2].startswith("generation_artifact"), got
    assert got[3:5] == [None, None] and got[5] and got[5].startswith("refusal"), got
    guide = ("## Step 1: Install\n\n```bash\npip install flask gunicorn\n```\n\n## Step 2: Run\n\n```bash\n"
             "gunicorn app:app\n```\n\nKeep it running with systemd.\n\n## Step 3: Configure Nginx as a reverse proxy")
    assert _quality([("Explain how to deploy a Flask app with Gunicorn and Nginx.", guide)])[0] < 0.6
