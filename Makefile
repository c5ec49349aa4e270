# Two entry points for a fresh machine: `make run` and `make test`.
# Each creates .venv and installs the pinned dependencies (constraints.txt) first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint bench drill migrate clean lock fonts
# Charts (/stats, digest) need a CJK font; Debian's fonts-wqy-microhei is small and complete.
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found: $$($(PYTHON) --version))."; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "Cannot create a virtual environment. On Debian/Ubuntu: apt-get install python3-venv"; \
		exit 1; }
	$(BIN)/pip install --quiet --upgrade "pip>=23"
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test]"
	@test -e $(CJK_FONT) || $(MAKE) --no-print-directory fonts
	touch $(STAMP)

# Install the chart font with apt when we may (root, or sudo without a password); otherwise
# say how. Without it the bot still runs: statistics are sent as text only.
fonts:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	else echo "Charts need a CJK font: sudo apt-get install fonts-wqy-microhei"; exit 0; fi; \
	command -v apt-get >/dev/null || { echo "Charts need a CJK font (WenQuanYi Micro Hei or Noto Sans CJK); set CHART_FONT=/path/to/font"; exit 0; }; \
	$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq fonts-wqy-microhei >/dev/null \
	|| echo "Could not install fonts-wqy-microhei; charts fall back to text"

# Without a BOT_TOKEN (environment or .env) this runs the local demo instead, saying so.
# exec: the bot replaces the recipe's shell, so the SIGTERM make passes on when it is stopped
# reaches the bot itself (it stops cleanly and make waits for it); a shell in between would
# die and leave the bot running.
run: $(STAMP)
	exec $(BIN)/liaison-bot run --or-demo

migrate: $(STAMP)
	$(BIN)/liaison-bot migrate

# Tests keep compiled modules (in .venv/pycache: the tree stays clean) even where the shell
# sets PYTHONDONTWRITEBYTECODE; else every test worker and every bot process the tests start
# compiles every module again (about 0.4 s of each bot start).
PYCACHE := PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/$(VENV)/pycache

# The whole suite; CI runs it (.ci/run) after `make lint`.
test: $(STAMP)
	$(PYCACHE) $(BIN)/python -m pytest -q -n auto --dist loadgroup

# Everything but the tests that start real processes (marker `process`), on every core.
test-fast: $(STAMP)
	$(PYCACHE) $(BIN)/python -m pytest -q -m "not process" -n auto

# ruff (lint and format) and mypy (bot/; --strict for bot.domain and bot.storage), as in CI.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Reliability drills against the real process: 100 random SIGKILLs, a 60 s send outage, a
# 10-message burst, a 40-command group flood, forged callback data (one line of figures each).
drill: $(STAMP)
	$(PYCACHE) $(BIN)/python -m tests.drills

bench: $(STAMP)
	$(BIN)/python bench/run.py $(ARGS)

# Regenerate constraints.txt from what is installed (after changing pyproject ranges).
lock: $(STAMP)
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) build *.egg-info
