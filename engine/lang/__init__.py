"""The expression language: parse and type-check once, then evaluate as compiled closures or on simpleeval."""
