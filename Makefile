.PHONY: start test lint format ci

start:  ## run the app and a worker (./scripts/start.sh)
	./scripts/start.sh

test:  ## run the whole test suite; ARGS="tests/runs -k claim" to narrow it
	./scripts/test.sh $(ARGS)

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

ci:
	bash .ci/run
