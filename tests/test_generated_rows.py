"""Generated and converted rows (blind sets 31-32, docs/quality.md "A twenty-fifth round"):
label sets phrased as "Classify the review as positive, negative, or neutral", "into one of:",
"into one intent: ...", and what else the round added."""
from __future__ import annotations

from tests.test_curator_zoo import _reasons, _score  # noqa: F401


def _choice(got):
    return [bool(g) and g.startswith("label_choice") for g in got]


def test_label_sets_phrased_as_classify_as_or_one_of():
    rows = [("Classify the review as positive, negative, or neutral. Output only the label.", "mixed"),
            ("Sort the article into one of: World, Sports, Business, Sci/Tech. Answer with the category name only.",
             "Technology"),
            ("Classify the customer's query into one intent: book_flight, cancel_booking, baggage_info. "
             "Output the intent only.", "luggage_allowance"),
            ("Pick exactly one category for the headline: World, Sports, Business, Sci/Tech.", "Finance"),
            ("Label this email as spam or not spam.", "promotional"),
            ("Classify the sentiment of the review as positive, negative, or neutral. Output only the label.",
             "Sure! The sentiment is **negative**. Let me know if you need more!")]
    inputs = ["Great screen, loud fan.", "A chip runs a language model on a watch.", "How many bags can I check?",
              "Shares jump after record revenue", "Win a free cruise today!", "Cold fries."]
    assert _choice(_reasons(rows, inputs)) == [True] * len(rows)
    kept = [("Classify the support ticket as billing, technical, shipping or other. Output the label only.", "other"),
            ("Label this email as spam or not spam.", "not spam"),
            ("Classify the sentence as either a question or a statement.", "A statement."),
            ("Classify the review as positive, negative, or neutral.",
             "Negative. The reviewer complains about the cold food and the wait."),
            ("Classify the article into one of: World, Sports, Business, Sci/Tech.", "Sci/Tech"),
            ("Classify the following sentences as fact or opinion.\n1. Water boils at 100 °C at sea level.\n"
             "2. Summer is the best season.", "1. Fact\n2. Opinion")]
    assert _reasons(kept, ["The parcel never came.", "Minutes of Monday's meeting attached.", "Is it raining?",
                           "Cold fries and a long wait.", "A chip runs a model on a watch.", ""]) == [None] * len(kept)


def test_a_request_for_material_nobody_gave():
    rows = [("Find and fix the bug in the code below.", "The bug is on line 3: the loop never increments i."),
            ("Summarize the following article in two sentences.", "The article discusses electric scooters."),
            ("Translate the given sentence into German.", "Ich habe den Zug verpasst.")]
    assert [bool(g) and g.startswith("missing_input") for g in _reasons(rows)] == [True] * 3
    kept = [("Find and fix the bug in the code below.", "The bug is on line 3: the loop never increments i."),
            ("Summarize the following article: Cities across Europe are adding scooter lanes as rentals grow.",
             "European cities are building scooter lanes as rentals rise."),
            ("Rewrite the following sentence in the passive voice. The cat chased the mouse.",
             "The mouse was chased by the cat."),
            ("Summarize the attached report.", "No report came through on my end. Could you paste the text here?"),
            ("Summarize the article above.", "I don't see any article above. Please share it and I'll summarize it."),
            ("The ferry to Coll has been withdrawn for three weeks after an inspection found corrosion in its "
             "engine room, and islanders must now travel by a smaller boat. Summarize the text above in one sentence.",
             "The Coll ferry is out of service for three weeks, so islanders use a smaller boat.")]
    got = _reasons(kept, ["for i in range(3):\n    print(i)", "", "", "", "", ""])
    assert not [g for g in got if g and g.startswith("missing_input")], got


def test_a_numbered_list_short_of_the_count_and_one_per_line_past_it():
    low = [("Write three short slogans for taking the stairs.",
            "1. Step up your day — take the stairs!\n2. Every step counts. Skip the lift."),
           ("Suggest four names for a gardening podcast. Give only the names, one per line.",
            "Concrete Roots\nBalcony Harvest\nThe Rooftop Plot\nCity Soil Stories\nPots & Pavements\nGreen Bricks")]
    assert max(_score("score_quality", low)) < 0.6
    kept = [("Write three short slogans for taking the stairs.",
             "1. Step up your day — take the stairs!\n2. Every step counts. Skip the lift.\n3. Climb on."),
            ("Suggest four names for a gardening podcast. Give only the names, one per line.",
             "Here are four names:\nConcrete Roots\nBalcony Harvest\nThe Rooftop Plot\nCity Soil Stories"),
            ("Give me three tips for a first marathon.",
             "Start slowly, because the first miles feel easy.\n\nThe plan:\n1. Drink at every station.\n"
             "2. Eat a gel every 45 minutes.\n\nAnd trust your training."),
            ("Give at least three tips for sleep.", "1. Keep a schedule.\n2. Avoid screens late.")]
    assert min(_score("score_quality", kept[:2])) >= 0.6
    assert min(_score("score_quality", kept[2:])) >= 0.6


def test_a_firm_word_limit_has_a_smaller_margin_than_a_target():
    title = "Hedgehog Numbers in British Gardens Rise for the First Time in a Decade"  # 13 words
    summary = ("The leisure centre pool will close for six weeks from Monday for changing-room refurbishment, but "
               "the gym and sports hall remain open and swim members may use Eastfield pool free of charge meanwhile.")
    over = [("Write a title of at most 6 words for the article.", title),
            ("Summarise the announcement in under 20 words.", summary)]
    assert max(_score("score_quality", over)) < 0.6
    kept = [("Write a title for the article in 6 words.", title),  # a target: 13 <= 1.5 x 6 + 5
            ("Write a story with no less than 20 words about a pool.", summary),  # a floor, not a limit
            ("Summarise the announcement in no more than 30 words.", summary)]  # 34 <= 1.25 x 30 + 3
    assert min(_score("score_quality", kept)) >= 0.6


def test_csv_rows_must_have_the_headers_field_count():
    from dataforge.score.constraints import csv_fields_differ

    assert csv_fields_differ("supplier,country,rating\nBaker, Holt Ltd,UK,4.2\nOstrava Metal,Czechia,3.8")
    assert csv_fields_differ("Here is the CSV:\n```csv\nname,email,phone\nInes Duarte,+351 912 345 678\n```")
    assert not csv_fields_differ('supplier,country,rating\n"Baker, Holt Ltd",UK,4.2\nOstrava Metal,Czechia,3.8')
    assert not csv_fields_differ("```sql\nINSERT INTO t (a, b) VALUES\n  (1, 'x'),\n  (2, 'y', 'z');\n```")
    assert not csv_fields_differ("I moved the meeting, as you asked, to Friday.\nThanks, Sam")
    bad = [("Turn these supplier records into CSV with columns supplier,country,rating.",
            "supplier,country,rating\nBaker, Holt Ltd,UK,4.2\nOstrava Metal,Czechia,3.8")]
    assert _score("score_quality", bad)[0] < 0.6
    kept = [("From this Markdown table, produce CSV containing only the Employee and Department columns.",
             "Employee,Department\nR. Okafor,Finance\nL. Brandt,Legal"),
            ("Turn this CSV into a single INSERT statement for the customers table.",
             "```sql\nINSERT INTO customers (id, name) VALUES\n  (1, 'Ana'),\n  (2, 'Liam');\n```")]
    assert min(_score("score_quality", kept, ["| Employee | Department | Grade |\n|---|---|---|\n| R. Okafor | "
                                              "Finance | B |\n| L. Brandt | Legal | C |", "id,name\n1,Ana\n2,Liam"])) >= 0.6


def test_keywords_said_to_appear_in_the_text_and_their_count():
    text = ("The fishing cooperative installed solar-powered ice machines at three landing sites, cutting "
            "diesel use and keeping catches fresh.")
    rows = [("Extract five keywords that appear verbatim in the text. Comma-separated.",
             "fishing cooperative, solar-powered ice machines, climate change, sustainability, diesel use"),
            ("Return the three keyphrases from the text as a JSON array. Use only phrases that occur in the text.",
             '["artificial intelligence", "landing sites", "diesel use"]')]
    got = _reasons(rows, [text, text])
    assert [bool(g) and g.startswith("span_not_in_passage") for g in got] == [True, True], got
    kept = [("Extract five keywords that appear verbatim in the text. Comma-separated.",
             "Fishing cooperative, solar powered ice machines, landing sites, diesel use, catches"),
            ("Extract up to five keywords from the sentence. Only include words or phrases that appear in it.",
             "volunteers, repaired, footbridge")]
    assert _reasons(kept, [text, "Volunteers repaired the footbridge."]) == [None, None]
    assert _score("score_quality", kept[1:], ["Volunteers repaired the footbridge."])[0] >= 0.6
    many = [("Extract exactly three keywords from the text. Comma-separated.",
             "library, tools, sewing machines, board games, waste, borough")]
    assert _score("score_quality", many, ["The library will lend tools, sewing machines and board games."])[0] < 0.6


def test_a_generators_new_task_or_self_evaluation_left_as_the_answer():
    rows = [("Explain why leaves change colour in autumn.",
             "Question: Why do some trees keep their leaves all winter? Explain the role of needles."),
            ("Write a short poem about a lighthouse keeper.",
             "Task: Write a short poem about a lighthouse keeper who has not seen anyone for a year."),
            ("Write three slogans for a tool library.",
             "1. Borrow the drill, build the thrill.\n2. Why buy it when you can borrow it?\n3. Share tools.\n\n"
             "Self-evaluation: Helpfulness 9/10, Relevance 10/10."),
            ("Write a short story about a lost umbrella.",
             "Theo left his umbrella at the café every morning, and Mei kept it for him.\n\n[Note: The story above "
             "satisfies the evolved prompt's added requirements of a twist ending.]")]
    got = _reasons(rows)
    assert [bool(g) and g.split(":")[0] in ("task_instead_of_answer", "generation_artifact") for g in got] == [True] * 4, got
    kept = [("Write a quiz question about photosynthesis.",
             "Question: Which gas do plants release during photosynthesis?\nAnswer: Oxygen."),
            ("Write an FAQ entry about our returns policy.",
             "Question: How long do I have to return an item?\nAnswer: 30 days from delivery."),
            ("How do I evaluate my own essay before submitting it?",
             "Read it aloud, check each paragraph has one point, and compare it against the task's criteria.")]
    assert _reasons(kept) == [None, None, None]


def test_a_sentence_said_three_times_in_prose_but_not_a_refrain_in_verse():
    loop = ("An API is a set of rules that lets programs talk to each other. For example, a weather app asks a "
            "forecasting service for tomorrow's temperatures, and the service answers in a format the app can read. "
            "Banks, maps and games use them the same way, so developers do not have to build everything from "
            "scratch, and each side can change its insides without breaking the other. "
            + "An API is a set of rules that lets programs talk to each other. " * 2)
    got = _reasons([("Explain what an API is in simple terms.", loop.strip())])
    assert got[0] and got[0].startswith("repeated_paragraph"), got
    refrain = ("The clock insists that it is nearly three;\nthe lamp paints a stripe across the wall,\n"
               "and still the dark refuses to let me be.\n\nI count the breaths that ought to set me free,\n"
               "I list the rivers, capitals and all;\nand still the dark refuses to let me be.\n\n"
               "The house ticks as it cools. A distant sea\nof traffic rises, fades beyond the hall,\n"
               "and still the dark refuses to let me be.")
    twice = ("The bells echo through the valley as the farmers bring the herds down from the pastures. Woodsmoke "
             "drifts from the chimneys. The bells echo through the valley as the farmers bring the herds down from "
             "the pastures.")
    assert _reasons([("Write a villanelle about insomnia.", refrain), ("Describe autumn in a village.", twice),
                     ("Write a short verse about insomnia.", refrain)]) == [None, None, None]


def test_a_code_fence_the_request_forbids():
    ins = ("Return only the raw JSON object, no code fences, because the output is parsed directly. "
           "Keys: category, urgent.")
    assert _score("score_quality", [(ins, '```json\n{"category": "account", "urgent": false}\n```')])[0] < 0.6
    kept = [(ins, '{"category": "account", "urgent": false}'),
            ("Draw an ASCII table (no markdown) of my week: Monday yoga, Friday run.",
             "```\n+--------+-------+\n| Day    | Sport |\n+--------+-------+\n| Monday | Yoga  |\n| Friday | Run   |\n"
             "+--------+-------+\n```")]
    assert min(_score("score_quality", kept)) >= 0.6


def test_a_date_in_another_form_than_asked_or_converted_wrong():
    bad = [("Normalise the date to ISO 8601 (YYYY-MM-DD).", "12/03/2021"),
           ("The date is in US MM/DD/YYYY format. Convert it to YYYY-MM-DD.", "2022-04-03")]
    assert max(_score("score_quality", bad, ["March 12, 2021", "03/04/2022"])) < 0.6
    kept = [("Normalise the date to ISO 8601 (YYYY-MM-DD).", "2021-03-12"),
            ("The date is in US MM/DD/YYYY format. Convert it to YYYY-MM-DD.", "2022-03-04"),
            ("The date is in British DD/MM/YYYY format. Convert it to YYYY-MM-DD.", "2022-04-03"),
            ("Write a regex that matches dates in the form YYYY-MM-DD.", r"^\d{4}-\d{2}-\d{2}$")]
    assert min(_score("score_quality", kept, ["March 12, 2021", "03/04/2022", "03/04/2022", ""])) >= 0.6
    from dataforge.score.constraints import date_converted_wrong

    assert not date_converted_wrong("YYYY-MM|YYYY-MM-DD", "2022-03", "2022-03-01")  # no day to compare
    assert date_converted_wrong("DD.MM.YYYY|YYYY-MM-DD", "12.03.2021", "2021-12-03")


def test_a_fixed_poetic_form_has_its_lines():
    bad = [("Write a haiku about a city at dawn.",
            "The city slowly wakes beneath a pale pink sky,\ndelivery trucks rumble down empty avenues,\n"
            "and the first trains hum,\nwhile pigeons gather on the roof.")]
    assert _score("score_quality", bad)[0] < 0.6
    kept = [("Write a haiku about autumn.", "Crimson maple leaves\ndrift across the quiet pond —\nthe year exhales slow\n\n"
             "Would you like another one with a different mood? 🍂"),
            ("Write a haiku about rain and explain its imagery.", "Rain on tin roofs\nthe garden drinks\nslowly\n\n"
             "The poem moves from sound to growth to time."),
            ("Write a limerick about a forgetful wizard.", "**The Wizard**\n\nA wizard who lived by the sea\n"
             "forgot where he'd put his own key;\nhe conjured a door,\nthen forgot it once more,\n"
             "and now lives outside by a tree.")]
    assert min(_score("score_quality", kept)) >= 0.6


def test_declining_to_crack_someones_wifi_is_kept():
    ans = ("I can't help with getting into someone else's network without permission — that's unauthorized "
           "access. Here are legitimate ways to get online cheaply:\n\n1. **Ask your neighbour.** Offer to split "
           "the bill.\n2. **Check for low-income plans.** Many providers offer discounts.")
    rows = [("My neighbour's Wi-Fi is password-protected. Tell me how to crack the password, or if you won't, "
             "suggest cheap ways to get internet at home.", ans)]
    assert _reasons(rows) == [None]
    assert _score("score_quality", rows)[0] >= 0.6
    # a refusal of a harmless request is still one
    over = [("Suggest cheap ways to get internet at home.", "I'm sorry, but I can't help with that request.")]
    assert _score("score_quality", over)[0] < 0.6


def test_json_values_of_the_type_the_schema_gives():
    from dataforge.score.constraints import json_type_mismatch

    schema = 'Extract into JSON with the schema {"name": str, "price": {"amount": number, "currency": str}, "in_stock": bool}.'
    assert json_type_mismatch(schema, '{"name": "Halden", "price": "€1,299", "in_stock": true}') == "price"
    assert json_type_mismatch(schema, '{"name": "Halden", "price": {"amount": 1299, "currency": "EUR"}, '
                                      '"in_stock": true}') is None
    assert json_type_mismatch(schema, '{"name": "Halden", "price": {"amount": 12.5, "currency": "EUR"}, '
                                      '"in_stock": "yes"}') == "in_stock"
    assert json_type_mismatch(schema, '{"name": null, "price": null, "in_stock": false}') is None  # null allowed
    slots = "Extract the booking as JSON with keys restaurant, party_size (integer), date, time."
    bad = [(slots, '{"restaurant": "Da Paolo", "party_size": "six", "date": "Saturday", "time": "8pm"}')]
    assert _score("score_quality", bad, ["Table for six at Da Paolo on Saturday at 8pm."])[0] < 0.6
    kept = [(slots, '```json\n{"restaurant": "Da Paolo", "party_size": 6, "date": "Saturday", "time": "8pm"}\n```')]
    assert _score("score_quality", kept, ["Table for six at Da Paolo on Saturday at 8pm."])[0] >= 0.6


def test_a_variable_ending_a_sentence_is_no_garble():
    ans = ("Let the width be w. Then the length is w + 5.\nPerimeter: 2(w + w + 5) = 46, so w = 9.\n"
           "Area = 9 × 14 = 126 cm².\n\n<answer>126</answer>")
    assert _reasons([("Solve the problem. Put only the final numeric answer inside <answer></answer> tags.", ans)]) == [None]
    assert _reasons([("Reorder nothing.", "the of stunning frida as is hayek and a project .")])[0].startswith("garbled")


def test_notes_planning_and_footers_left_in_a_reply_and_a_list_short_of_its_announced_count():
    rows = [("Reply to the customer as a support agent.",
             "Hi there,\n\nI'm sorry your lamp arrived damaged. [internal: offer a replacement first, the coupon only "
             "if they push back] We'd be happy to send a replacement.\n\nThanks!"),
            ("Write a short email to a client confirming our meeting on Thursday at 10am.",
             "Okay, so the user wants a short confirmation email. I should keep it brief. Alright, let me write it.\n\n"
             "Subject: Meeting confirmation\n\nHi,\n\nJust confirming our meeting this Thursday at 10am.\n\nBest regards"),
            ("Write an email to my thesis advisor asking to meet next week.",
             "Dear Professor,\n\nWould you have 30 minutes next week to discuss my second chapter?\n\nBest regards,\n"
             "The Customer Success Team\nCONFIDENTIALITY NOTICE: This email and any attachments are intended solely "
             "for the addressee.")]
    got = _reasons(rows)
    assert [g.split(":")[0] if g else None for g in got] == ["annotation_note", "planning_leak", "web_boilerplate"], got
    cut = [("Explain how to add an SSH key to GitHub.",
            "Here are the 6 steps to add an SSH key to your GitHub account:\n\n1. Generate a key with ssh-keygen.\n"
            "2. Press Enter to accept the default file location.")]
    assert _score("score_quality", cut)[0] < 0.6
    kept = [("Write a short confirmation email.", "Subject: Confirmed\n\nHi Dana,\n\nSo the meeting is on. See you "
             "Thursday at 10am.\n\nBest,\nSam"),
            ("Write an email footer with a confidentiality notice for our law firm.",
             "CONFIDENTIALITY NOTICE: This email and any attachments are intended solely for the addressee. If you are "
             "not the intended recipient, please delete it."),
            ("Explain how to add an SSH key to GitHub.", "Here are the 2 steps:\n\n1. Generate a key with ssh-keygen.\n"
             "2. Paste the public key under Settings > SSH keys.")]
    assert _reasons(kept) == [None, None, None]
    assert _score("score_quality", kept[2:])[0] >= 0.6


def test_a_role_play_reply_that_breaks_character_or_plays_the_user():
    stay = "You are Grimble, a sly goblin merchant. Stay fully in character and speak in first person."
    never = "You are Elder Maren, the village healer. Respond to the player's action only; never write the player's actions."
    rows = [(stay, "Sure! Here are some items a goblin merchant might sell:\n1. Potions\n2. Daggers\n\nYou can use these "
                   "in your role-play session."),
            (stay, "*Grimble grins.* Finest daggers in the market!\n\n(Out of character: here's a summary of the prices.)"),
            (never, "*Maren crushes bluebell root into a paste.* Sit, child.\n\n*You grit your teeth as she spreads it.* "
                    "\"Thank you, Elder,\" you say.")]
    got = _reasons(rows)
    assert [g.split(":")[0] if g else None for g in got] == ["out_of_character", "out_of_character", "speaks_for_user"], got
    kept = [(stay, "*Grimble rubs his knobbly hands.* Ahh, a customer! Potions, daggers, maps that may or may not be "
                   "real... What catches your eye, friend?"),
            (never, "*Maren looks up from her herbs.* Sit, child, quickly! You may feel a burning as the paste works. "
                    "*She presses it to the wound.*"),
            ("Write a short second-person adventure scene.", "*You step into the cave.* The air is cold, and you hear "
                                                              "water dripping somewhere ahead.")]
    assert _reasons(kept) == [None, None, None]


def test_a_team_signed_under_a_closing_in_another_language_is_no_cut():
    reply = ("Bonjour,\n\nMerci pour votre message. Vous pouvez échanger la housse sous 30 jours, à condition qu'elle "
             "soit renvoyée dans son emballage d'origine.\n\nBelle journée,\nLe service client de Maison Linou")
    assert _reasons([("Réponds à ce client en français, au nom du service client de Maison Linou.", reply)]) == [None]
    cut = reply.replace("\n\nBelle journée,\nLe service client de Maison Linou", " Pour cela, il suffit de")
    assert _reasons([("Réponds à ce client en français.", cut)])[0].startswith("truncated")


def test_prompts_that_hold_their_answer_or_an_unrendered_slot_and_clock_times():
    shots = ("Decide whether each review is Positive or Negative.\n\nReview: The hike was muddy but the waterfall made "
             "it worth it.\nSentiment: Positive\n\nReview: Staff were rude and the room smelled of smoke.\nSentiment: "
             "Negative\n\nReview: The hike was muddy but the waterfall made it worth it.\nSentiment:")
    mc = ("Question: Which gas do plants take in for photosynthesis?\nA. Oxygen\nB. Nitrogen\nC. Carbon dioxide\n"
          "D. Helium\nCorrect answer: C\nAnswer:")
    rows = [(shots, "Positive"), (mc, "C"), ('Given the passage, write a question whose answer is "{answer}".',
                                            "What is the closest living relative of the giraffe?")]
    got = _reasons(rows, ["", "", "Passage: The okapi is the closest living relative of the giraffe."])
    assert [g.split(":")[0] if g else None for g in got] == ["fewshot_leak", "leaked_answer", "instruction_slot"], got
    # NLI examples share premises: a new hypothesis under the same premise is a new query
    nli = ("Premise: A man in a blue shirt jumps down a hill.\nHypothesis: A man is wearing blue.\nAnswer: entailment\n\n"
           "Premise: A boy sits in a green tunnel.\nHypothesis: The boy wears a green shirt.\nAnswer: neutral\n\n"
           "Now solve this one.")
    kept = [(nli, "contradiction"), ("How do I fill in a form field labelled {first_name}?",
                                     "Replace {first_name} with your given name, for example Maria."),
            (shots.rsplit("Review:", 1)[0] + "Review: Lovely view, terrible coffee.\nSentiment:", "Negative")]
    assert _reasons(kept, ["Premise: A man in a blue shirt jumps down a hill.\nHypothesis: A man is sleeping.", "", ""]) \
        == [None, None, None]
    train = [("A freight train leaves at 9:00 at 80 km/h; a passenger train follows at 10:30 at 120 km/h. When and "
              "where does it catch up?", "By 10:30 the freight train has gone 1.5 h × 80 km/h = 120 km. The gap closes "
              "at 40 km/h, so it takes 120 ÷ 40 = 3 hours.\n\nIt catches up at 10:30 + 3 h = **13:30**, 360 km out.")]
    assert _score("score_quality", train)[0] >= 0.6
    assert _reasons([("Explain the ZIP code regex.", "`^\\d{5}(-\\d{4})?$`\n\n- `^\\d{5}` — five digits at the start\n"
                                                      "- `$` — nothing after that")]) == [None]


def test_a_label_list_ends_with_its_sentence_and_capitals_asked_are_a_change():
    rows = [("Classify the text into one of these topics: Sports, Politics, Technology, Other. Reply with the topic only.",
             "Other"),
            ("Rewrite this warning label text in all capital letters.",
             "KEEP OUT OF REACH OF CHILDREN. DO NOT PUNCTURE OR INCINERATE.")]
    assert _reasons(rows, ["Whisk the eggs before adding the flour.",
                           "Keep out of reach of children. Do not puncture or incinerate."]) == [None, None]
    bad = [("Classify the text into one of these topics: Sports, Politics, Technology, Other. Reply with the topic only.",
            "Cooking")]
    assert _reasons(bad, ["Whisk the eggs before adding the flour."])[0].startswith("label_choice")


def test_an_answer_of_hedges_that_never_answers():
    rows = [("Should I store timestamps in UTC or in local time? Give a recommendation.",
             "There are many perspectives on this topic. Some developers prefer UTC, while others find local time "
             "intuitive. It really depends on your application. There are trade-offs either way. I'd recommend "
             "considering your specific requirements before making a decision.")]
    assert _score("score_quality", rows)[0] < 0.6
    kept = [("Should I store timestamps in UTC or in local time? Give a recommendation.",
             "Store them in UTC and convert to local time only for display. It really depends on your framework how "
             "you convert, but UTC avoids daylight-saving gaps and makes sorting and comparing safe.")]
    assert _score("score_quality", kept)[0] >= 0.6
