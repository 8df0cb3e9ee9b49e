"""Good answers that look like defects (benchmarks/quality_data/lookalike_zoo.jsonl, written
without reading the rules) and the defects they resemble (docs/quality.md, "A nineteenth
round"): a last line in another script, a row of UI labels, a sign-off after "Thanks!",
brackets talked about rather than opened, a quotation in another language."""
from __future__ import annotations

import polars as pl

from tests.test_curator_zoo import _caught, _reasons, _score
from tests.test_filters import _zoo


def _frame(rows: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame({"instruction": [r[0] for r in rows], "input": [""] * len(rows),
                         "output": [r[1] for r in rows]})


def test_lookalike_zoo_is_kept_and_scored_as_finished():
    zoo = _zoo("lookalike_zoo").with_row_index("i")
    assert zoo.height == 72 and (zoo["label"] == "good").all()
    rows = zoo.select("instruction", "input", "output")
    caught = _caught(rows)
    assert not [(i, c) for i, c in zip(zoo["i"], caught) if c], [(i, c) for i, c in zip(zoo["i"], caught) if c]
    low = [(i, round(s, 3)) for i, s in zip(zoo["i"], _score("score_quality", rows)) if s < 0.6]
    assert not low


# -- a last line in another script is not measured against the lines above -------------------

def test_a_closing_line_in_another_script_is_no_cut_but_cuts_within_one_script_still_are():
    kept = [
        ("What is the motto of Peking University?",
         "The university's motto is usually given in English as \"Patriotism, Progress, Democracy, "
         "Science.\" It dates from the May Fourth era.\n\n爱国 进步 民主 科学"),
        ("Quote the first line of the Iroha poem and translate it.",
         "The poem opens with a line about the fading of colours and scent, read as a lesson on "
         "impermanence.\n\n色は匂へど"),
    ]
    assert _reasons(kept) == [None, None]
    cut = [
        # the same script throughout: a Chinese answer whose last line stops without its 。
        ("请介绍一下长城。", "长城是中国古代的军事防御工程。\n它始建于春秋战国时期，总长度超过两万公里。\n"
         "明代对长城进行了大规模的修建。\n今天，长城已经成为中国最著名的旅游景点之一，每年吸引着"),
        # and an English line after a Chinese one still ends on a dangling word
        ("Translate and explain this proverb: 学而不思则罔",
         "学而不思则罔，思而不学则殆。\nLearning without thought is labour lost, because the"),
    ]
    got = _reasons(cut)
    assert got[0] is not None and got[0].startswith("truncated"), got
    assert got[1] is not None and got[1].startswith("truncated"), got


# -- a row of UI labels ----------------------------------------------------------------------

def test_a_row_of_labels_ends_ui_copy_but_a_cut_sentence_of_its_body_is_still_cut():
    kept = [
        ("Write the footer text for our app's settings page.",
         "Changes are saved automatically when you leave this page.\n\nHelp Center · Privacy Policy · Terms of Service"),
        ("Write the breadcrumb and intro text for a shoe category page.",
         "Browse our full range of running shoes, from light racers to cushioned trainers.\n\nHome › Men › Running Shoes"),
        ("Write a short confirmation dialog for deleting a project.",
         "This will permanently delete the project and all of its files. This cannot be undone.\n\nCancel | Delete project"),
    ]
    assert _reasons(kept) == [None, None, None]
    assert min(_score("score_quality", kept)) >= 0.6
    cut = [("Write the footer text for our app's settings page.",
            "Changes are saved automatically when you leave this page. If you need help with your account settings you can contact")]
    assert _reasons(cut)[0].startswith("truncated")


# -- a sign-off after a closing that ends in "!" ----------------------------------------------

def test_a_name_under_a_closing_that_ends_in_an_exclamation_is_a_signature():
    kept = [
        ("Write a quick note thanking my neighbour for watering the plants.",
         "Hi Dana,\n\nThank you so much for looking after the plants while we were away. They all "
         "survived, and the basil is thriving.\n\nSee you at the weekend!\nMarta & Tom"),
        ("Draft a text to my team about Friday's lunch.",
         "Hey all, lunch on Friday is at the Thai place on Main Street at 12:30. Reply if you can't "
         "make it so I can fix the booking.\n\nThanks!\nSam"),
    ]
    assert _reasons(kept) == [None, None]
    assert min(_score("score_quality", kept)) >= 0.6
    cut = [  # a dangling word after the closing, or a closing that is no sign-off
        ("Draft a text to my team about Friday's lunch.",
         "Hey all, lunch on Friday is at the Thai place on Main Street at 12:30. Reply if you "
         "can't make it so I can fix the booking.\n\nThanks!\nThe"),
        ("Explain how tides work.",
         "Tides come from the Moon's gravity pulling on the oceans. The Sun adds a smaller pull. "
         "When both line up we get spring tides. What a great question!\nWhen the Moon is at right angles to the Sun we get")]
    got = _reasons(cut)
    assert all(g is not None and g.startswith("truncated") for g in got), got


# -- brackets talked about rather than opened ---------------------------------------------------

def test_brackets_that_are_talked_about_are_not_counted_but_open_ones_are():
    kept = [
        ("How do I write a half-open interval?", "Use a square bracket for an included end and a "
         "parenthesis for an excluded one: [0, 1) holds 0 but not 1."),
        ("Which character starts a character class in a regex?",
         "A character class starts with the '[' character and ends with the matching ']', so you "
         "escape a literal \"[\" with a backslash."),
        ("My flight got cancelled, cheer me up.", "Oh no, that's rough :( But look on the bright "
         "side: an extra night at home and a story to tell."),
        ("How do I use a variable in a Jinja template?", "Wrap its name in double braces: "
         "`{{ name }}`. The parser reads everything after {{ up to the closing braces as an "
         "expression."),
    ]
    assert _reasons(kept) == [None, None, None, None]
    cut = [
        ("Write a Python function that averages a list.",
         "Here it is:\n\n```python\ndef mean(xs):\n    return sum(xs) / max(len(xs), 1\n```"),
        ("Give the JSON for a user.", 'Here is the object: { "name": "Ana", "age": 31'),
        ("List the pairs that sum to 8.", "The pairs are (2, 6), (3, 5), (4, 4) and (5,"),
    ]
    got = _reasons(cut)
    assert all(g is not None for g in got), got


# -- a quotation in another language ----------------------------------------------------------

def test_language_id_reads_an_answer_without_its_quotations_when_enough_remains():
    kept = _frame([
        ("What does Goethe's line about boldness say in German?",
         "The line usually credited to Goethe encourages people to begin whatever they dream of, "
         "because boldness has genius, power and magic in it. In German it is often quoted as "
         "„Was du tun kannst oder träumst zu können, fang es an!“"),
        ("Give me a quote from The Little Prince.",
         "The fox tells the prince that one sees clearly only with the heart, since what is "
         "essential is invisible to the eye. In French:\n\n« On ne voit bien qu'avec le cœur. "
         "L'essentiel est invisible pour les yeux. »"),
    ])
    assert _caught(kept) == [None, None]
    wrong = _frame([  # the whole answer in another language, a quotation in it or not
        ("Explain why the sky is blue.",
         "Le ciel est bleu parce que la lumière du soleil est diffusée par les molécules de l'air. "
         "La lumière bleue, de courte longueur d'onde, est beaucoup plus diffusée que la rouge, "
         "comme l'a montré « la diffusion de Rayleigh »."),
    ])
    got = _caught(wrong)
    assert got[0] is not None and got[0].startswith("lang_"), got


# -- the second to fourth blind sets: good rows and the defects that resemble them -------------

# good rows still flagged, each a known limit (docs/quality.md, "A nineteenth round"): a status
# line right under its label (21), a form's last "Button: ..." line (24), a bracket glued to a
# word in prose (47), and answers in the language of a German, French or Spanish request, which
# `langs: [en]` rejects by design (100; 70, 71, 72); in set 4, a memo signed by a team under a
# sentence (30), chess notation's "Qxf7#" (51), a lone brace in a code comment (56), a horror
# opening that ends on "..." unasked (63) and a "Final score: ..." tail (78)
# Set 5 was held out from every fix to these rules and still has all twelve it had before
# (a transliteration, a Latin plant name, a name or a temperature ending a sentence unpunctuated,
# a form's "* Required", a ticket's reference code, initials, a casual reply, a Jinja raw block,
# a requested refusal, a worksheet's blank read as garbled, a chord line after a colon)
KNOWN = {"lookalike_zoo_2": {100}, "lookalike_zoo_3": {21, 24, 47, 70, 71, 72},
         "lookalike_zoo_4": {30, 56, 63, 78},
         "lookalike_zoo_5": {2, 3, 10, 18, 30, 33, 49, 81, 83},  # (58, 79: session 22's units, a bot's asked refusal)
         # session 20's blind sets. 6, endings: 51 of 94 flagged when it came, 41 after (answers in
         # the request's language under `langs: [en]`, and finished sentences written without
         # their final period, which read as cuts after a word). 7, chat and technical endings:
         # 16 of 72 when it came, 12 after (docs/quality.md)
         "lookalike_zoo_6": {0, 1, 4, 5, 6, 17, 18, 19, 20, 22, 25, 26, 31, 33, 35, 37, 38, 43, 49, 50, 51,
                             58, 63, 64, 65, 79, 82, 83, 86, 92, 95, 99, 107, 108, 109, 110, 119, 121,
                             125, 126, 127},
         "lookalike_zoo_7": {2, 3, 18, 25, 27, 29, 35, 46, 74, 93, 109, 118},
         # session 21's blind sets. 8, every defect kind: 5 of 118 flagged when it came, 2 after (a
         # worked sum read as under-answered, a last list item without its period among items
         # with one). 9, code cuts, loops, encodings, placeholders, values at the end, hedges (held
         # out for the round's rules): 13 of 88 when it came, 5 after (hedged answers and a refusal
         # that helps, "Buffalo buffalo ...", a form's "N/A")
         "lookalike_zoo_8": {35, 84},
         "lookalike_zoo_9": {24, 49, 118},  # (20, 130: session 22's refusals that decline only the live or personal part)
         # 10, domains and languages (blind to the whole round): 24 of 101 when it came, 21 after;
         # 17 of them answer in the request's language under `langs: [en]` (by design), and
         # "Buffalo buffalo ..." and a list of translations read as repetition and a cut item
         "lookalike_zoo_10": {6, 8, 13, 16, 24, 36, 44, 55, 67, 73, 78, 84, 94, 109, 113, 115, 117, 150,
                              151, 156, 160},
         # 11, declining, hedging and stopping (blind to the round): 8 of 79 with the code of the
         # session start, 7 when it came and after (refusals of harmful requests the list does not
         # name, hedged answers, a clarifying question under a translation request's langid)
         # (session 22 kept 72, 79, 85, 106: refusals of harms the list now names, and a first
         # sentence that declines only the exact time and then works it out)
         "lookalike_zoo_11": {12, 42, 113},
         # session 22's blind set 12 (every defect kind, less common domains): 8 of 100 flagged
         # when it came (as with the session-start code), 3 after: finished answers whose last
         # sentence drops its period after a form name or a time, and a list's last item without
         # the closing parenthesis its other items have
         "lookalike_zoo_12": {0, 10, 29},
         # 13 (converted datasets, generated data with constraints, everyday requests; held out
         # from set 12's rules): 5 of 99 with the session-start code, 3 when it came, 1 after (the
         # "Buffalo buffalo ..." sentence, whose repetition reads as a loop to score_quality)
         "lookalike_zoo_13": {13},
         # 14 (converted, generated and everyday rows; held out from the whole session until it
         # was read): 7 of 90 with the session-start code, 6 with the round's rules, 1 after (a
         # library catalogue's MARC field read as garbled)
         "lookalike_zoo_14": {55},
         # 15 and 16 (held out from the whole session until read; 16 is code, data and worked
         # math): 7 of 92 and 4 of 85 with the session-start code, 4 and 3 with the rules of
         # sets 12-14, none after
         "lookalike_zoo_15": set(), "lookalike_zoo_16": set(),
         # 17 (the three sources again) and 18 (long answers, transcripts, role-play, support
         # replies), blind to the whole session until read: 3 of 90 and 5 of 71 with the session
         # start's code and with the session's rules alike; after: a cliffhanger two sentences
         # long read as under-answered; a German answer to a German request under `langs: [en]`
         # and a letter story signed "Sindre" (an AI character speaking as one and two support
         # replies that decline one thing and help with another were kept at the end)
         "lookalike_zoo_17": {33}, "lookalike_zoo_18": {55, 62},
         # (set 20's Spanish support reply under `langs: [en]`, asked for by "reply in the
         # language the customer uses": langid keeps to the languages it is given)
         "lookalike_zoo_19": set(), "lookalike_zoo_20": {70}, "lookalike_zoo_21": set(),
         # (set 22's answers in the language their request is in, under `langs: [en]`)
         "lookalike_zoo_22": {1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 18, 24, 25, 27, 28, 30},
         # (set 23: 130 good look-alikes only, written to probe the round's own checks; 18 flagged
         # when it came, the same 18 with the session-start code: none by this round's rules; these
         # ten are answers in their request's language under `langs: [en]`)
         "lookalike_zoo_23": {52, 53, 57, 105, 110, 112, 113, 114, 115, 116},
         # (set 24, the round's last held-out set: 10 flagged when it came, 11 with the
         # session-start code; after: the pipe-bomb and PayPal-phishing refusals kept)
         "lookalike_zoo_24": {18, 19, 20, 21, 22, 63, 64, 65},
         # (session 24's blind sets, scored when they came with the session-start code: 5, 6, 1
         # and 6 flagged; after: two refusals of harmful requests, a final "Answer: B" and a
         # GitHub secret, a relation label, a word problem's counts, a skeleton of headings and
         # kaomoji kept; the rest are answers in their request's language under `langs: [en]`)
         "lookalike_zoo_25": {39, 64, 89, 144}, "lookalike_zoo_26": {39, 73, 145},
         "lookalike_zoo_27": set(), "lookalike_zoo_28": {20, 22},
         # (held out, written after the round's rules: 3 and 20 flagged with the session-start
         # code; after, a refusal of a chat message's harmful half kept. Left: answers in their
         # request's language under `langs: [en]`, a "[Your name]" slot in a message, a
         # bilingual sign read as cut, a summary that declines a bomb's build scored 0.05)
         "lookalike_zoo_29": {113},
         "lookalike_zoo_30": {5, 6, 9, 15, 19, 30, 42, 44, 47, 49, 58, 74, 81, 84, 86, 88, 96, 121, 127, 146},
         # (session 25, scored with the session-start code: 1 and 4 flagged; after, a refusal to
         # crack a neighbour's Wi-Fi with a legal alternative, a CSV drawn from a markdown table,
         # "up to five keywords" and a JSON answer read as French kept. Left: a German title to a
         # German request under `langs: [en]`)
         "lookalike_zoo_31": set(), "lookalike_zoo_32": {62},
         # (10 flagged with the session-start code; after, an answer "em inglês" to a Portuguese
         # request, a variable ending a sentence and a French team signed under "Belle journée,"
         # kept. Left: answers in their request's language under `langs: [en]`)
         "lookalike_zoo_34": {34, 36, 37, 38, 73, 74, 86},
         # (held out, scored when they came: 3 and 4 flagged with the session-start code and with
         # the rules of sets 31, 32 and 34; after, a clinic signed under "We look forward to
         # seeing you!", "nothing after that" and a clock time in a sum kept. Left in set 35:
         # answers in their request's language under `langs: [en]`)
         "lookalike_zoo_33": set(), "lookalike_zoo_35": {11, 16, 97},
         # (held out, written after all of the session's other rules: 7 flagged with the session-start
         # code, 5 when it came; after, "Other" of a topic list that ends with its sentence and a
         # text rewritten in capitals as asked kept. Left: answers in their request's language)
         "lookalike_zoo_36": {5, 46, 47}}
# defects caught: before the round 37, 25, 28, 29 (the ad slots and comment forms added 1, 2, 1, 3;
# session 20's cut inside a last word 2, 1, 2, 1: "report sympt", "pip install requ", "power adap")
CAUGHT = {"lookalike_zoo_2": 40, "lookalike_zoo_3": 28, "lookalike_zoo_4": 31, "lookalike_zoo_5": 34,
          "lookalike_zoo_6": 36, "lookalike_zoo_7": 43,  # (when they came: 30 of 41, 43 of 51)
          # (when they came: 46 of 62, 10 of them wrong labels and off-topic answers no rule
          # judges; 44 of 67, then 56 after the round's rules, which it was held out for)
          "lookalike_zoo_8": 49, "lookalike_zoo_9": 56,
          "lookalike_zoo_10": 47,  # (when it came: 43 of 65; 42 with the code of the session start)
          # (when it came: 35 of 58, as at the session start; 44 after session 21; 56 after
          # session 22's answers that are only disclaimers, a question back, a promise beside an
          # acknowledgement, and "I'd rather not")
          "lookalike_zoo_11": 56,
          # (when it came: 36 of 65, 37 with the rules written from set 11 first; 18 are wrong
          # answers, labels and facts, off-topic answers and contradictions, which no rule judges)
          "lookalike_zoo_12": 46,
          # (33 of 65 with the session-start code, 34 when it came; 45 after the choices a request
          # lists, few-shot run-ons, bullet, word and letter constraints; 20 are wrong but valid
          # labels, wrong answers and facts, off-topic or contradicting answers, no rule's to judge)
          "lookalike_zoo_13": 46,
          # (31 of 60 with the session-start code, 34 with the round's rules; 47 after: bullet,
          # word, keyword, banned-word, lower-case and YAML constraints, a final answer its
          # working never computed, few-shot labels after an instruction, "Choose one:")
          "lookalike_zoo_14": 46,
          # (27 of 62 and 32 of 57 with the session-start code, 34 and 32 with the rules of sets
          # 12-14; after: spans not in the passage, a letter outside the list, reasoning left in
          # a bare answer, questions for given figures, tables, code, sentence counts, stubs,
          # a bold final result. The rest are wrong answers and wrong code no rule can judge)
          # (set 16: 41 since session 25, one working that stops before solving for w was caught
          # only because `garbled` misread "Let the width be w. Then ...")
          "lookalike_zoo_15": 45, "lookalike_zoo_16": 41,
          # (25 of 62 and 24 of 53 with the session-start code, 32 and 24 with the session's
          # rules when they came: long-form and dialogue defects were new; 32 and 28 after)
          "lookalike_zoo_17": 32, "lookalike_zoo_18": 28,
          # (27 of 63 and 29 of 60 when they came, with 1 and 3 good rows flagged; after: JSON keys,
          # a closing question, an acrostic, a table's columns, no bullets, a title's length, a
          # language asked for up front, a final "x = 5", an answer cue repeated, an annotator's
          # note, a guide that stops on a heading; most of the rest are wrong code, answers and
          # labels, which no rule judges)
          "lookalike_zoo_19": 37, "lookalike_zoo_20": 40,
          # (held out: 22 of 60 with the session-start code, 31 with the rules written from sets
          # 19 and 20; after: keyword and banned-word lists, a closing phrase, a first word, no
          # commas, a title in << >>, a judge's rating left in, "Responde en español")
          "lookalike_zoo_21": 41,
          # (held out: 31 of 60 with the session-start code, 33 with the rules of sets 19-21;
          # after: Evol-Instruct's tags and notes left in; 23 are wrong facts, translations
          # and advice, off-topic answers and non-answers of other kinds)
          "lookalike_zoo_22": 41, "lookalike_zoo_23": 0,
          # (held out: 30 of 57 with the session-start code, 32 with all of the round's rules;
          # after: pipeline wrapper tags, an editor's reminder in capitals, a generator's note on
          # its own copy, a guide that stops on a heading between code blocks)
          "lookalike_zoo_24": 36,
          # (held out: 26 of 57, 15 of 60 and 13 of 60 with the session-start code; after: a
          # letter beside another option's text, two letters, a letter with no options rendered,
          # label sets in quotes, a character limit, worked arithmetic wrong as written, an answer
          # in English to a Spanish or French request, a list or paragraph pasted twice, a chat
          # UI's labels, a gold label left in the input, asking for the text given, a summary
          # longer than its source, four lines asked and six given)
          "lookalike_zoo_25": 32, "lookalike_zoo_26": 31, "lookalike_zoo_27": 20, "lookalike_zoo_28": 0,
          # (held out: 23 of 60 and 24 of 55 with the session-start code, 26 and 23 with the
          # round's rules when they came (set 30 lost a YAML row the start caught only through
          # its GitHub secret); after: a letter said beside another option's text, units and
          # bold in worked sums, read by score_quality's first pass too)
          "lookalike_zoo_29": 27, "lookalike_zoo_30": 25,
          # (22 of 60 and 10 of 60 with the session-start code; after: label sets phrased "Classify
          # ... as a, b, or c" and "into one intent:", a request for material nobody gave, a
          # numbered list short of the count, "one per line", firm word limits, CSV rows against
          # their header, keywords said to be in the text, a code fence forbidden, a date's form,
          # JSON types, a haiku's lines, a generator's next task or self-evaluation, a sentence
          # said three times. The rest are wrong labels, facts, code and unsupported answers)
          "lookalike_zoo_31": 33, "lookalike_zoo_32": 28,
          # (25 of 60 with the session-start code, 26 with the rules of sets 31-32; after: a
          # writer's "[internal: ...]" note, a reasoning model's planning, an email's legal footer,
          # a list short of its announced count, a role-play reply out of character or playing
          # the user, hedges that never answer. The rest are wrong facts, policies, order details,
          # code and conclusions)
          "lookalike_zoo_34": 35,
          # (held out: 21 and 25 of 60 with the session-start code, 23 and 27 with the rules of
          # sets 31, 32 and 34 when they came; after: a company slot left open where the request
          # names it, a few-shot query that is one of its solved examples, "{answer}" unrendered,
          # a "Correct answer: C" line, meeting notes nobody gave, a tweet over "maximum 280
          # characters". Most of the rest are wrong facts, code, SQL, shell, labels and
          # translations, unsafe compliance and tone, which no rule judges)
          "lookalike_zoo_33": 25, "lookalike_zoo_35": 31,
          # (held out: 25 of 60 with the session-start code, 27 with all of the session's rules)
          "lookalike_zoo_36": 27}


def _flags(name: str) -> tuple[pl.DataFrame, list[bool]]:
    zoo = _zoo(name).with_row_index("i")
    rows = zoo.select("instruction", "input", "output")
    flagged = [bool(c) or s < 0.6 for c, s in zip(_caught(rows), _score("score_quality", rows))]
    return zoo, flagged


def test_blind_lookalike_sets_keep_their_good_rows_and_catch_their_defects():
    for name in KNOWN:
        zoo, flagged = _flags(name)
        good = {i for i, f, lab in zip(zoo["i"], flagged, zoo["label"]) if f and lab == "good"}
        assert good <= KNOWN[name], (name, sorted(good - KNOWN[name]))
        caught = sum(f for f, lab in zip(flagged, zoo["label"]) if lab == "defect")
        assert caught >= CAUGHT[name], (name, caught)


def test_more_lookalikes_of_the_round():
    kept = [
        # an escaped bracket is a literal; a question about an unclosed bracket shows one
        ("How do I draw a big left brace in LaTeX?", "Write `\\left\\{` and close the group with "
         "`\\right.`, an invisible delimiter:\n\n$$f(x) = \\left\\{ \\begin{array}{ll} x & x \\ge 0 \\\\ -x & x < 0 \\end{array} \\right.$$"),
        ("Why does Python say '(' was never closed?", "The file ended inside a call, as in:\n\n"
         "```python\ntotal = sum(prices\n```\n\nAdd the missing parenthesis at the end of the expression."),
        # kisses, a summary's label, an address in a row of links
        ("Write a note for the babysitter.", "Kids eat at six and are in bed by eight. Our numbers "
         "are on the fridge and we'll be back by eleven.\n\nThanks so much!! xx"),
        ("Should we switch to a four-day week? Summarise the trial.", "The trial ran for six months "
         "across forty firms. Revenue held steady and sick days fell by a third. Most firms kept the "
         "policy afterwards.\n\nTL;DR: shorter week, same revenue, healthier staff"),
        ("Write the footer for our bookshop's website.", "Thanks for shopping local. We ship "
         "anywhere in the UK within three days.\n\n© 2024 Harbor Lane Books · 14 Quay Street, Portsmouth · Privacy · Terms"),
    ]
    assert _reasons(kept) == [None] * len(kept)
    cut = [  # a closed fence does not make its code whole; a dangling word after the kisses' line
        ("Write a debounce function in JavaScript.", "```js\nfunction debounce(fn, ms) {\n  let timer;\n"
         "  return (...args) => {\n    clearTimeout(timer);\n    timer = setTimeout(() => fn(...args), ms);\n  };\n```"),
        ("Should we switch to a four-day week? Summarise the trial.", "The trial ran for six months "
         "across forty firms. Revenue held steady and sick days fell by a third.\n\nTL;DR: shorter week, same revenue, but the"),
    ]
    got = _reasons(cut)
    assert got[0].startswith("unbalanced_brackets") and got[1].startswith("truncated"), got


def test_score_quality_spares_a_refund_template_and_a_question_about_json():
    rows = [
        ("Give me a template reply a support agent can use when a customer asks for a refund outside "
         "the 30-day window.", "Hi [Name],\n\nThanks for getting in touch. Unfortunately I'm unable to "
         "issue a refund for this order, as it was placed outside our 30-day return window. I can "
         "arrange a free repair under the warranty instead.\n\nBest,\n[Agent name]"),
        ("What does 'Unexpected token } in JSON at position 57' mean?", "JSON.parse found a closing "
         "brace where it expected a value, usually after a trailing comma: `{\"a\": 1,}` is valid "
         "JavaScript but not valid JSON. Remove the comma and it parses."),
    ]
    assert min(_score("score_quality", rows)) >= 0.6
    refusal = [("How do customers get a refund outside the 30-day window?",
                "I'm sorry, but I can't help with that request.")]
    assert _score("score_quality", refusal)[0] < 0.6


def test_lookalikes_of_the_second_pass():
    kept = [
        # a sentence that ends on a quotation in another script
        ("What is the Chinese proverb about persistence?", "The best known is about an old woman "
         "grinding an iron rod into a needle, and it is usually written as 铁杵磨成针"),
        ("How do I sign a card to my Russian grandmother?", "Keep it warm and simple. If you'd "
         "like to sign off with \"with love\", put this above your name: С любовью"),
        # a name with its role under a closing; a longer item in a row of links
        ("Write an apology for a late delivery.", "Hi Sam,\n\nI'm sorry your order arrived late. "
         "We've refunded the shipping cost.\n\nApologies again,\nRenée, Customer Support"),
        ("Write the footer for a law firm's website.", "Attorney advertising. Prior results do "
         "not guarantee a similar outcome.\n\n© 2024 Harlow & Finch LLP · Privacy Policy · Terms of Use · Sitemap"),
        # the French half-open interval
        ("How is a half-open interval written in France?", "The open end's bracket faces "
         "outward, so the interval from 0 included to 1 excluded is written [0, 1[ in French notation."),
    ]
    assert _reasons(kept) == [None] * len(kept)
    rows = [("Give me the nav bar labels for a recipe site on one line, separated by pipes.",
             "Home | Recipes | Meal Plans | Techniques | Shop | Sign in"),
            ("Write a polite canned response for our banking chatbot when users ask for investment "
             "advice it can't give.", "I'm sorry, but I can't give personalised investment advice. "
             "You can book a free call with one of our licensed advisers in the app.")]
    assert min(_score("score_quality", rows)) >= 0.6
    cut = [("What is the Chinese proverb about persistence?",  # the English sentence left open
            "The best known is 铁杵磨成针, about an old woman who grinds an iron rod into a")]
    assert _reasons(cut)[0].startswith("truncated")


def test_a_casual_text_may_drop_its_last_mark_and_a_cut_asked_for_is_no_defect():
    kept = [
        ("My friend texted 'movie tonight?'. Write a casual reply saying yes.",
         "omg yes!! I've been wanting to see that one forever. want to grab food before? my treat"),
        ("Write a short story opening that ends on a cliffhanger, mid-sentence.",
         "The lighthouse had been dark for eleven years. Tonight its lamp turned once, slowly, and "
         "in its beam Mara saw her own boat, which she had sold, rowing toward the rocks with—"),
    ]
    assert _reasons(kept) == [None, None]
    cut = [  # a dangling word still tells a cut in a casual text; an unasked story ending still counts
        ("My friend texted 'movie tonight?'. Write a casual reply saying yes.",
         "omg yes!! I've been wanting to see that one forever. want to grab food before at the"),
        ("Write a short story about a lighthouse keeper.",
         "The lighthouse had been dark for eleven years. Tonight its lamp turned once, slowly, and "
         "in its beam Mara saw her own boat. She ran down to the shore and called out to the"),
    ]
    got = _reasons(cut)
    assert all(g is not None and g.startswith("truncated") for g in got), got


def test_an_ad_slot_line_alone_is_scraped_chrome_but_the_word_in_prose_is_not():
    rows = [
        ("How long can a sourdough starter stay in the fridge?", "About two weeks if you feed it "
         "first.\n\nADVERTISEMENT\n\nWhen you get back, discard most of it and feed it twice before baking."),
        ("How often should I change synthetic oil?", "Every 5,000 to 10,000 miles.\n\nContinue "
         "reading below\n\nShort trips and towing call for the severe schedule."),
        ("Write a one-line radio ad for a bakery.", "Advertisement: Fresh bread every morning at "
         "Rosa's, two streets from the station."),
        ("What makes a good advertisement?", "A good advertisement is clear about one benefit, "
         "shows it rather than tells it, and ends with one thing to do."),
    ]
    got = _reasons(rows)
    assert got[0].startswith("web_boilerplate") and got[1].startswith("web_boilerplate"), got
    assert got[2:] == [None, None], got
