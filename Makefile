# Two commands on a fresh machine:  make run  (set up + serve)   and   make test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test install clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

# Writes ./akn-mail.toml on first run (kept afterwards), then serves on the embedded defaults.
run: install
	$(BIN)/akn-mail init
	exec $(BIN)/akn-mail serve

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info
