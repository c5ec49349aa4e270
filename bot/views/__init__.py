"""Presentation: records turned into the texts, buttons and media people receive (pure)."""
