# 工贸企业安全生产标准化报表系统
PY      := .venv/bin/python
PERIOD  ?=
YEAR    ?=
REASON  ?=
APT_PKGS := libreoffice-calc-nogui libreoffice-writer-nogui fonts-noto-cjk poppler-utils dovecot-imapd
FLAGS   ?=

.PHONY: setup system venv demo demo-mail test lint monthly quarterly annual close reopen status templates register fetch-mail watch remind bench bench-mail codes docs clean-demo

setup: system venv

system:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "安装系统软件包:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

venv: .venv/.installed

.venv/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,demo,bench]'
	touch $@

demo: setup
	$(PY) -m pipeline demo $(FLAGS)

test: setup
	$(PY) -m pytest

lint: venv
	$(PY) -m ruff check pipeline tests bench tools

monthly: venv
	$(PY) -m pipeline monthly $(if $(PERIOD),--period $(PERIOD)) $(FLAGS)

quarterly: venv
	$(PY) -m pipeline quarterly $(if $(PERIOD),--period $(PERIOD)) $(FLAGS)

annual: venv
	$(PY) -m pipeline annual $(YEAR) $(FLAGS)

close: venv
	$(PY) -m pipeline close $(PERIOD) $(FLAGS)

reopen: venv
	$(PY) -m pipeline reopen $(PERIOD) $(if $(REASON),--reason "$(REASON)") $(FLAGS)

status: venv
	$(PY) -m pipeline status $(if $(PERIOD),--period $(PERIOD)) $(FLAGS)

templates: venv
	$(PY) -m pipeline template $(if $(PERIOD),--period $(PERIOD)) $(FLAGS)

register: venv
	$(PY) -m pipeline register $(if $(DATE),--date $(DATE)) $(FLAGS)

fetch-mail: venv
	$(PY) -m pipeline fetch-mail $(FLAGS)

watch: venv
	$(PY) -m pipeline watch $(FLAGS)

remind: venv
	$(PY) -m pipeline remind $(if $(PERIOD),--period $(PERIOD)) $(FLAGS)

demo-mail: setup
	$(PY) tools/demo_mail.py

bench: venv
	$(PY) bench/bench.py $(if $(N),--n $(N),--sizes 2000,10000,40000)
	$(PY) bench/register.py

bench-mail: setup
	$(PY) bench/bench_mail.py $(FLAGS)

docs: venv
	$(PY) -m pipeline docs
