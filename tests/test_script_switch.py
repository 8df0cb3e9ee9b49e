"""`script_switch`: Latin-script prose that drifts into Chinese, Japanese or Korean and stays
there (blind zoo 5's hash-table answer), not a quoted line, a title or a greeting in that script,
and not where the request holds the script or names a language."""
from __future__ import annotations

import polars as pl
import pytest

from dataforge.ops.filters import RuleFilter
from dataforge.score.quality import quality

DRIFT = [
    ("Briefly explain what a hash table is.",
     "A hash table is a data structure that stores key–value pairs. It uses a hash function to compute an index "
     "into an array of buckets, 从而可以在平均O(1)的时间内完成查找、插入和删除操作。当两个键的哈希值相同时，会发生冲突，"
     "通常用链地址法或开放寻址法来解决。"),
    ("Summarize the causes of the French Revolution.",
     "The French Revolution had several causes. Financial crisis from war debts, an unfair tax system that spared "
     "the nobility, food shortages after poor harvests, and Enlightenment ideas that questioned absolute monarchy "
     "all combined. 此外，第三等级对政治代表权的不满也起到了重要作用，最终导致了1789年的三级会议。"),
]

KEPT = [
    ("Tell me about the opening of the Tao Te Ching.",
     "The Tao Te Ching opens with one of the most quoted lines in Chinese philosophy: 道可道，非常道。名可名，非常名。 "
     "Roughly: the Way that can be spoken of is not the constant Way, and the name that can be named is not the "
     "constant name. Laozi is saying that language cannot capture the ultimate reality."),
    ("What are the best-known Studio Ghibli films?",
     "Some of the best-known Studio Ghibli films are Spirited Away (千と千尋の神隠し, 2001), My Neighbor Totoro "
     "(となりのトトロ, 1988), Princess Mononoke (もののけ姫, 1997) and Howl's Moving Castle (ハウルの動く城, 2004). All "
     "four were directed by Hayao Miyazaki and are loved around the world."),
    ("Explain Li Bai's poem Quiet Night Thought.",
     "Li Bai's Quiet Night Thought is among the most memorized poems in China. The speaker wakes to moonlight on "
     "the floor, mistakes it for frost, looks up at the moon and thinks of home. The whole poem reads: "
     "“床前明月光，疑是地上霜。举头望明月，低头思故乡。”"),
    ("Write a short note to my team about the holiday schedule.",
     "Hi team, just a reminder that the office will be closed from December 24 to January 1. Please make sure all "
     "urgent tasks are handed over before you leave, and set your out-of-office replies. 祝大家节日快乐，新年快乐！"),
    ("Answer in English and then in Chinese: why is the sky blue?",
     "Sunlight is scattered by the molecules of the air, and blue light, with its shorter wavelength, is scattered "
     "much more than red light, so the sky looks blue from every direction. 阳光被空气分子散射，蓝光波长较短，散射得比红光多得多，所以天空看起来是蓝色的。"),
    ("请用英文解释什么是哈希表。",
     "A hash table stores key-value pairs and uses a hash function to find the bucket of a key, so lookups take "
     "constant time on average. 简单来说，它通过哈希函数把键映射到数组的位置上，从而实现快速查找。"),
]


def _frame(rows):
    return pl.DataFrame({"instruction": [r[0] for r in rows], "input": [""] * len(rows), "output": [r[1] for r in rows]})


@pytest.mark.parametrize("instruction,output", DRIFT)
def test_prose_that_drifts_into_another_script_is_caught(instruction, output):
    df = _frame([(instruction, output)])
    assert RuleFilter(only=["script_switch"]).reasons(df)[0].startswith("script_switch: output switches script")
    assert quality(df.with_columns(meta=pl.lit(None, pl.Utf8), task=pl.lit(None, pl.Utf8)))[0] <= 0.3


@pytest.mark.parametrize("instruction,output", KEPT)
def test_quotes_titles_greetings_and_asked_for_scripts_are_no_switch(instruction, output):
    assert RuleFilter(only=["script_switch"]).reasons(_frame([(instruction, output)]))[0] is None
