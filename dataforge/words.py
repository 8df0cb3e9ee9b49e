"""What counts as a word, for rules and scores that count or pick words.

Chinese and Japanese put no spaces between words: a run of non-space characters there is a
whole sentence. Each of their characters counts as a word when counting (a lenient lower
bound for a length rule), and pairs of them stand in for words when words are picked.
"""
CJK = r"\p{Han}\p{Hiragana}\p{Katakana}"
# one word per run of non-space characters, or per CJK character
WORD_RE = rf"[{CJK}]|[^\s{CJK}]+"
# content-word candidates: 3+ letters of any script, numbers, or a CJK pair
TOKEN_RE = rf"[^\W\d_{CJK}](?:[^\W\d_{CJK}]|['-]){{2,}}|\d+|[{CJK}]{{1,2}}"
