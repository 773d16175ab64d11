#!/bin/sh
# Copies the browser libraries the screens load from npm's node_modules into app/vendor, where the
# linli binary embeds them (no CDN: the screens must work with no internet). CI runs this after
# `npm ci` and fails if app/vendor then differs from what is committed.
set -eu
cd "$(dirname "$0")"
mkdir -p app/vendor
cp node_modules/echarts/dist/echarts.min.js app/vendor/echarts.min.js
cp node_modules/echarts/LICENSE app/vendor/echarts.LICENSE
