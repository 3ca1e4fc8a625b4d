"""UI translations: one module per language, each a dict from the English text to the translation."""
