"""Task taxonomy (rules/tasks/taxonomy.yaml) and the rule-based task classifier."""
