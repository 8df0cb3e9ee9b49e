"""Helpers shared by the cleaning operators: text normalisation, MinHash/LSH, union-find,
keep rules for duplicate clusters, rule expressions and fastText loading."""
