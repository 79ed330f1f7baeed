#!/usr/bin/env bash
# Lints the Dockerfile without a Docker engine, with two npm linters:
#   dockerfile-utils lint  the validator of VS Code's Dockerfile support: syntax, unknown
#                          instructions, instructions without arguments;
#   dockerfilelint         best practices: pinned base tags, apt-get -y, valid ports, ...
# Exits non-zero on any finding. Needs node's npx and the npm registry (it installs
# Debian's nodejs and npm when npx is missing and it runs as root). About 15 s the first
# time, 5 s once npm's cache holds the two packages.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v npx >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "dockerlint: npx not found; install Node.js and npm" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# Versions pinned so that a new rule upstream does not fail CI by surprise.
npx --yes dockerfile-utils@0.16.3 lint Dockerfile
npx --yes dockerfilelint@1.8.0 Dockerfile
echo "dockerlint: Dockerfile OK"
