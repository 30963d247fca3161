#!/usr/bin/env bash
# The set-up command of the README: the Debian packages the tests and the local platform use, then the
# npm dependencies. Safe to run again. Needs root (or sudo) for apt-get; with SKIP_APT=1 it only installs npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

# postgresql: the monitor's store; prometheus (+promtool) and alertmanager: alert rules and the local platform;
# wrk: the serving benchmark; chromium: the drift report checked in a real browser;
# python3-psycopg2: the MLflow image's database bootstrap script, run against the real PostgreSQL in tests.
# curl: scripts/ci/check-cluster-reach.sh (tested against a local server).
APT_PACKAGES=(postgresql prometheus prometheus-alertmanager wrk chromium python3-psycopg2 curl)

if [ "${SKIP_APT:-0}" != "1" ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" = "0" ] || SUDO="sudo"
    echo "setup: installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The Debian packages start system services we do not use: tests and `npm start` run their own instances.
    for svc in prometheus prometheus-alertmanager prometheus-node-exporter postgresql; do
      $SUDO systemctl stop "$svc" >/dev/null 2>&1 || $SUDO service "$svc" stop >/dev/null 2>&1 || true
    done
  fi
fi

# onnxruntime-node bundles its CPU binaries; its install script only fetches optional CUDA parts.
export ONNXRUNTIME_NODE_INSTALL=skip
# --loglevel=notice: the repository's .npmrc silences npm (for `npm run`), not what an install reports.
npm ci --no-audit --no-fund --loglevel=notice
