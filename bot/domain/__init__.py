"""Pure domain code: no Telegram, no SQL; time is passed in."""
