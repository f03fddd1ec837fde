SHELL := /bin/bash
# improve — the two commands a newcomer needs: `make demo` and `make test`.
# Everything a target needs that a fresh Debian machine may lack is installed here.

CARGO ?= cargo
BIN := target/release/improve
DEMO_DIR ?= demo-system
SHOT ?= target/report.png

.PHONY: all demo test deps browser-deps build release bench bench-life fuzz screenshot report clean

all: build

# Tools the tests drive: git and python3 (the demo system's test and replay commands),
# systemd-analyze (verify and security of the units in templates/systemd/).
deps:
	@command -v git >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1 && \
	  command -v systemd-analyze >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git python3 systemd >/dev/null; }

# Headless Chromium for the report's browser test and the screenshot.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

build:
	$(CARGO) build

release:
	$(CARGO) build --release

# A self-contained target system, a simulator of its logs, and three acts on the
# simulated clock (a fix deployed and stable; a harmful change reverted; a proposal
# waiting for a human).
demo: deps release
	rm -rf $(DEMO_DIR)
	$(BIN) demo $(DEMO_DIR)

# Unit, property and integration tests, the report in a real browser, then a summary
# of what the reliability tests tried: one line per kind of trouble, each written by
# the test that tried it (target/test-summary/NAME.txt, emptied first so a renamed
# or removed test leaves no stale line).
test: deps browser-deps
	rm -rf target/test-summary
	mkdir -p target && $(CARGO) test --all-targets 2>&1 | tee target/test-output.txt; test $${PIPESTATUS[0]} -eq 0
	bash tests/browser/run.sh
	@echo "== what the suite tried"; cat target/test-summary/*.txt 2>/dev/null || true
	@awk '/^test result:/ { p += $$4; f += $$6 } END { printf "tests: %d passed, %d failed\n", p, f }' target/test-output.txt

report: demo
	$(BIN) --repo $(DEMO_DIR) report --html target/report.html

# A screenshot of the demo's report in headless Chromium.
screenshot: browser-deps report
	bash tests/browser/screenshot.sh target/report.html $(SHOT)
	@echo "screenshot: $(SHOT)"

# Long benchmarks and fuzzing stay out of `make test` (CI budget). `make bench` is the
# observe benchmark and the long-life one (a simulated year of hourly cycles: about
# an hour on 2 cores); `make bench-life LIFE_CYCLES=300` is a quick long-life run of
# a few minutes. The system's logs are kept 30 days, as the README advises an operator
# (LIFE_KEEP_LOG_DAYS=0 keeps every log). The systems run on a journaled ext4 made for
# the run when root can loop-mount one (LIFE_FS=ext4; LIFE_FS= runs them in bench/out;
# bench/longlife.sh says why).
LIFE_CYCLES ?= 8760
LIFE_KEEP_LOG_DAYS ?= 30
LIFE_FS ?= ext4
bench: deps
	bash bench/run.sh $(BENCH_MB)
	LIFE_FS=$(LIFE_FS) LIFE_KEEP_LOG_DAYS=$(LIFE_KEEP_LOG_DAYS) bash bench/longlife.sh $(LIFE_CYCLES)

bench-life: deps
	LIFE_FS=$(LIFE_FS) LIFE_KEEP_LOG_DAYS=$(LIFE_KEEP_LOG_DAYS) bash bench/longlife.sh $(LIFE_CYCLES)

fuzz:
	bash fuzz/run.sh $(FUZZ_SECONDS)

clean:
	$(CARGO) clean
	rm -rf $(DEMO_DIR)
