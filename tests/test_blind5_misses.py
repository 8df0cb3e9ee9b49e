"""Blind zoo 5 (benchmarks/quality_data/blind_zoo_5.jsonl, written without reading the rules):
the defects the default rules and score_quality missed, and the good answers that look like
them (docs/quality.md, "Blind zoo 5: misses")."""
from __future__ import annotations

import polars as pl

from dataforge.ops.filters import RuleFilter
from tests.test_curator_zoo import _reasons, _score
from tests.test_filters import _zoo

FIXED_KINDS = {"list_stops_early", "placeholder_leftover", "repetition_loop", "html_boilerplate"}


def _rows(zoo: pl.DataFrame) -> pl.DataFrame:
    return zoo.select("instruction", "input", "output")


def test_blind_zoo_5_good_rows_are_kept_by_rules_and_scored_as_finished():
    zoo = _zoo("blind_zoo_5").with_row_index("i")
    good = zoo.filter(pl.col("label") == "good")
    assert zoo.height == 198 and good.height == 137
    r = RuleFilter().reasons(_rows(good))
    assert r.null_count() == good.height, good.with_columns(r=r).filter(pl.col("r").is_not_null()).to_dicts()
    scores = _score("score_quality", _rows(good))
    low = [(i, round(s, 3), o[:60]) for i, s, o in zip(good["i"], scores, good["output"])
           if s < 0.6]
    assert not low


def test_blind_zoo_5_defects_of_the_fixed_kinds_are_caught():
    zoo = _zoo("blind_zoo_5").with_row_index("i")
    bad = zoo.filter(pl.col("defect").is_in(list(FIXED_KINDS)))
    r = RuleFilter().reasons(_rows(bad)).to_list()
    by = dict(zip(bad["i"].to_list(), r))
    assert all(by.values()), {i: x for i, x in by.items() if not x}
    # the misses, each by the rule written for it
    assert all(by[i].startswith("truncated: output ends on an empty list item") for i in (76, 90, 168))
    assert by[148].startswith("list_loop:")
    assert by[155].startswith("unfilled_slots:") and by[197].startswith("unfilled_slots:")
    assert by[83].startswith("markup_junk:") and by[193].startswith("web_boilerplate:")
    assert max(_score("score_quality", _rows(bad))) < 0.6


# -- 1. an answer that ends on an empty list item or heading -----------------------------------

def test_an_empty_item_or_heading_that_continues_the_answer_is_a_cut():
    cut = [
        ("What are the steps to change a flat tyre?",
         "Park somewhere safe first. Then:\n\n1. Loosen the wheel nuts slightly with the brace.\n2."),
        ("Create an outline for an essay on renewables.",
         "# Renewables\n\n## I. Introduction\n- Hook: energy demand\n- Thesis: renewables are cheapest\n\n## II."),
        ("Outline an essay on energy.", "I. Introduction\n   A. Hook about energy use\n   B. Thesis\nII."),
        ("Give me tips for sleeping better.", "Here are tips for you:\n1. Keep a fixed bedtime.\n2. Skip late coffee.\n\n**3.**"),
        ("Give me five tips for writing a strong CV.", "Here are five tips for writing a strong CV:\n\n1."),
        ("How do I set up a tent?", "### Step 1: Pick a spot\nFind flat ground away from trees.\n\n### Step 2:"),
        ("Plan my weekend in Rome.", "## Day 1\nWalk the old town and eat well tonight.\n\n##"),
        ("List what to pack.", "Pack light for the trip:\n• Passport and tickets\n• Charger\n•"),
    ]
    got = _reasons(cut)
    assert all(g and g.startswith("truncated:") for g in got), got


def test_a_lone_letter_number_or_marker_that_continues_no_list_is_an_answer():
    kept = [
        ("Which option is correct? A) red B) blue", "The sky scatters blue light the most.\n\nB."),
        ("Which option is right?", "Answer: C"),
        ("What is 6 times 7? Show your working.", "6 x 7 means six groups of seven, which is forty-two.\nSo:\n42."),
        ("Natalia sold 48 clips in April and half as many in May. How many in total?",
         "In May she sold 48 / 2 = 24 clips.\nAltogether she sold 48 + 24 = 72 clips.\n#### 72"),
        ("How many moons does Earth have?", "Counting natural satellites only, the answer is:\n1."),
        ("Which statement is true, I or II?", "The first statement is false, so the true one is\nII."),
        ("List the steps.", "1. Mix flour and water.\n2. Knead."),
    ]
    assert _reasons(kept) == [None] * len(kept)


# -- 2. unfilled template variables ----------------------------------------------------------------

def test_mustache_variables_and_price_masks_in_prose_are_unfilled_slots():
    left = [
        ("Reply to a customer whose parcel is late. Her name is Joanna.",
         "Hi {{customer_name}},\n\nSorry your parcel is late. Your reference is {{ticket_id}}.\n\nKind regards,\n{{agent_name}}"),
        ("Write a description for the Aurora desk lamp.",
         "The Aurora lamp lasts up to <LIFESPAN> hours and comes in <COLOUR_OPTIONS>. Only $XX.XX!"),
        ("Describe the lamp sale.", "Save XX% on every lamp, now only $XX.XX while stocks last."),
        ("Write a welcome email for Sam.", "Hi *|FNAME|*,\n\nWelcome aboard! Your account *|ACCOUNT_ID|* is ready."),
        ("Describe the power bank.", "It charges a phone in XX minutes and holds XX mAh, enough for a weekend."),
    ]
    got = _reasons(left)
    assert all(g and g.split(":")[0] in {"unfilled_slots", "placeholder"} for g in got), got


def test_templates_asked_for_latex_code_and_masks_of_algebra_keep_their_braces():
    kept = [
        ("Write a Jinja2 template for an order email.", "Hi {{ first_name }},\n\nOrder {{ order_id }} has shipped."),
        ("How do I print a value in Handlebars?", "Wrap the name in double braces: `{{name}}` prints it, `{{{html}}}` skips escaping."),
        ("Describe the Jinja syntax.", "Write {{ user_name }} to print a value and {{ order_id }} for another."),
        ("Write a Go template listing users.", "{{range .Users}}\n- {{.Name}} ({{.Email}})\n{{end}}"),
        ("Simplify the expression.", "We have $x^{{2}} + y^{{2}}$, which is the squared distance."),
        ("Give an Excel number format for money.", "Use the custom format #,##0.00 or $#,##0.00 for currency."),
        ("Write a word problem.", "A shirt costs $X and a hat costs $Y. Together they cost $30."),
        ("Which size fits a 44-inch chest?", "Order the XXL size; it fits a 44-inch chest."),
        ("How do I move between form fields?", "Press <ENTER> to confirm, then <TAB> to move on."),
        ("Set up Java on Windows.", "Add %JAVA_HOME%\\bin and %MAVEN_HOME%\\bin to your PATH, then reopen it."),
    ]
    assert _reasons(kept) == [None] * len(kept)


# -- 3. a list whose items loop ---------------------------------------------------------------------

def test_a_list_that_loops_on_its_items_is_caught():
    loop = "1. Escape room\n2. Cooking class\n3. Volunteering day\n4. Trivia night\n5. Cooking class\n" \
           "6. Trivia night\n7. Cooking class\n8. Trivia night\n9. Cooking class\n10. Trivia night"
    inline = "1. Scented candle 2. Coffee mug 3. Board game 4. Coffee mug 5. Board game 6. Coffee mug 7. Board game"
    bullets = "- Visit a museum\n- Go for a hike\n- Bake a cake\n- Go for a hike\n- Bake a cake\n- Go for a hike"
    got = _reasons([("List 10 ideas for a team-building activity.", loop), ("List 7 gift ideas.", inline),
                    ("Suggest weekend activities.", bullets)])
    assert all(g and g.startswith("list_loop:") for g in got), got


def test_answer_keys_schedules_and_one_word_items_repeat_by_design():
    kept = [
        ("Answer the quiz.", "1. B\n2. A\n3. B\n4. B\n5. A\n6. B\n7. A"),
        ("True or false?", "1. True\n2. False\n3. True\n4. True\n5. False\n6. True"),
        ("Plan my week of dinners.", "- Monday: pasta night\n- Tuesday: pasta night\n- Wednesday: pasta night\n"
                                     "- Thursday: pasta night\n- Friday: pasta night\n- Saturday: pasta night"),
        ("Give me a beginner running plan.", "1. Run 30 min\n2. Rest day\n3. Run 30 min\n4. Rest day\n"
                                             "5. Run 30 min\n6. Rest day\n7. Rest day"),
        ("Name the tense of each sentence.", "1. Simple past\n2. Present perfect\n3. Simple past\n"
                                             "4. Simple past\n5. Present perfect\n6. Simple past"),
        ("Give me tips for better days.", "1. Sleep more\n   - Go to bed early\n   - No screens\n2. Eat well\n"
                                          "   - Go to bed early\n   - No screens\n3. Move\n   - Go to bed early\n   - No screens"),
    ]
    assert _reasons(kept) == [None] * len(kept)
    # an answer key that goes through the request's own list
    key = "1. Simple past\n2. Present perfect\n3. Simple past\n4. Simple past\n5. Present perfect\n6. Simple past"
    sentences = "1. I went.\n2. I have gone.\n3. She ate.\n4. He ran.\n5. We have seen.\n6. They sang."
    assert _reasons([("Name the verb form.", key)], inputs=[sentences]) == [None]


# -- 4. web-page junk ----------------------------------------------------------------------------------

def test_html_entities_tags_and_page_chrome_in_prose_are_caught():
    junk = [
        ("Write a short description for a linen pillow cover.",
         "Stonewashed for softness.&nbsp;&nbsp;Machine washable.&nbsp;<br/><br/>Add to Cart&nbsp;|&nbsp;Add to Wishlist"),
        ("What are symptoms of iron deficiency?",
         "Tiredness and pale skin are common.\n\nAdvertisement\n\nRELATED ARTICLES\n> 10 Superfoods\n\n"
         "Was this article helpful? Yes / No"),
        ("What are symptoms of flu?", "Fever and aches are common.\n\nADVERTISEMENT\n\nMost recover in a week.\n\nShare | Tweet | Email"),
        ("Summarise the cartoon.", "Tom &amp; Jerry is a cartoon about a cat and a mouse."),
        ("Write a short bio of Jane.", "Jane is a chef.<br>She lives in Paris.<p>She loves bread.</p>"),
    ]
    got = _reasons(junk)
    assert all(g and g.split(":")[0] in {"markup_junk", "web_boilerplate"} for g in got), got


def test_entities_explained_shop_buttons_in_a_sentence_and_table_breaks_are_kept():
    kept = [
        ("How do I keep two words together on one line?", "Put a non-breaking space between them: type &nbsp; instead."),
        ("How do I keep two words together?", "Use `&nbsp;` between them."),
        ("Explain how shoppers use an online store.", "Shoppers click Add to Cart, then later Add to Wishlist if unsure."),
        ("Write a TV ad script.", "Our advertisement opens on a beach. The narrator says: add to cart today!"),
        ("Make a table of fruit.", "| Fruit | Notes |\n|---|---|\n| Apple | Red<br>Sweet |"),
        ("Write the HTML for a paragraph.", "<p>Hello, world.</p>"),
    ]
    assert _reasons(kept) == [None] * len(kept)


LOOKALIKES = [  # a second blind probe's good rows that the first version of these rules dropped
    ("What does {{ .Values.replicaCount }} mean in a Helm chart?",
     "In a Helm chart template, {{ .Values.replicaCount }} is replaced with the replicaCount value from your "
     "values.yaml file (or from a --set flag at install time). So if values.yaml contains replicaCount: 3, the "
     "rendered Deployment will have replicas: 3."),
    ("Is <br> or <p> better for separating paragraphs?",
     "Use <p> for paragraphs. A <p> element marks up a block of text as a distinct paragraph, which gives screen "
     "readers and search engines meaningful structure. The <br> tag is only a line break inside a single block."),
    ("Write alt text and a caption for a blog image showing a golden retriever catching a frisbee.",
     "Alt text: A golden retriever leaping to catch a red frisbee in a grassy park.\n\nCaption: Max shows off his "
     "best trick at Riverside Park.\n\nIn HTML this would look like <img src=\"max-frisbee.jpg\" alt=\"A golden "
     "retriever leaping to catch a red frisbee\">, with the caption inside a <figcaption> element."),
]


def test_tags_and_template_syntax_named_in_prose_are_no_junk():
    """A tag named in prose ("Use <p> for paragraphs") is no scraped markup; markup glued to its
    text as a page's structure ("<p>Free shipping", "today.</p>") still is."""
    df = pl.DataFrame({"instruction": [r[0] for r in LOOKALIKES], "input": [""] * len(LOOKALIKES),
                       "output": [r[1] for r in LOOKALIKES]})
    assert RuleFilter(only=["markup_junk", "placeholder"]).reasons(df).null_count() == len(LOOKALIKES)
    page = pl.DataFrame({"instruction": ["Describe this lamp."], "input": [""],
                         "output": ["<p>A brass desk lamp with a linen shade.</p><p>Free shipping today.</p>"]})
    assert RuleFilter(only=["markup_junk"]).reasons(page)[0].startswith("markup_junk")
