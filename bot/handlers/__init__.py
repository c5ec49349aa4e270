"""Telegram handlers: one module per feature, each exposing get_handlers()."""
