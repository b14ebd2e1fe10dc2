#!/usr/bin/env bash
# The run report: report.json gains the timeline and the stages' sections,
# report.html shows the same data as one self-contained page, and a real
# headless Chromium renders it (SVG parsed, filter script run, not blank).
# Exits 77 when /usr/bin/chromium is absent (scripts/bootstrap.sh --test installs it).
source "$(dirname "$0")/lib.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
cpid=
# Chromium runs in its own process group: on exit, whatever is left of it goes too.
trap '[ -n "$cpid" ] && kill -KILL -- "-$cpid" 2>/dev/null; rm -rf "$T"' EXIT

cat >"$T/report.yaml" <<'YAML'
version: 1
name: report-demo
stages:
  - id: build
    uses: emit
    with: {string: "v2", sleep: 2s}
  - id: canary
    uses: section_writer
    with:
      section:
        format: 1
        title: "Canary <script>alert(1)</script>"
        status: fail
        future_key: ignored
        summary:
          - {label: promoted, value: "no", status: fail}
          - {label: final weight, value: "25%"}
          - {label: sessions, value: 1234}
        events:
          - {t: "@t-1500", label: "weight 5%", status: info}
          - {t: "@t-500", label: "weight 25%", status: info}
          - {t: "@t-100", label: "breach: tool_error_rate 0.21 vs 0.04", status: fail}
        charts:
          - title: Tool-call error rate
            kind: line
            x: time
            unit: "%"
            series:
              - name: candidate
                points: [["@t-2000", 2], ["@t-1500", 3], ["@t-1000", 6], ["@t-500", 12], ["@t-100", 21]]
              - name: baseline
                points: [["@t-2000", 2], ["@t-1500", 2.5], ["@t-1000", 2], ["@t-500", 3], ["@t-100", 2.2]]
            marks: [{x: "@t-100", label: rollback}]
          - title: Canary weight
            kind: step
            x: time
            unit: "%"
            series:
              - name: weight
                points: [["@t-2000", 5], ["@t-1000", 25], ["@t-100", 0]]
          - title: Latency histogram
            kind: bar
            unit: cases
            series:
              - name: candidate
                points: [["0-10 ms", 3], ["10-20 ms", 40], ["20-50 ms", 12], ["50+ ms", 2]]
              - name: baseline
                points: [["0-10 ms", 5], ["10-20 ms", 44], ["20-50 ms", 6], ["50+ ms", 1]]
          - title: Nothing yet
            kind: line
            series: [{name: candidate, points: []}]
        tables:
          - title: Cases
            columns: [id, outcome, score, message]
            rows:
              - [c1, PASS, 1.0, ""]
              - [c2, FAIL, 0.0, "contains: 'refund' not found"]
              - [c3, PASS, 0.9, ""]
              - [c4, ERROR, 0, "timeout <after 30 s>"]
            filter: 1
            note: "showing 4 of 4 rows"
        text: "Rolled back after the breach.\nSee the journal for details."
  - id: broken
    uses: section_writer
    with:
      raw: '{"title": "half written'
      fail_with: "breach: tool_error_rate 0.21 vs 0.04"
on_failure:
  - id: rollback
    uses: emit
YAML

sw run "$T/report.yaml"
expect_rc 1 "the pipeline fails where it should"
d=$(run_dir)
expect_out "report:     $d/report.html" "the end of the run names report.html"
[ -s "$d/report.json" ] && ok "report.json written" || bad "no report.json"
[ -s "$d/report.html" ] && ok "report.html written" || bad "no report.html"

# report.json: every old key, the sections in pipeline order, the merged timeline.
if python3 - "$d/report.json" <<'PY'; then ok "report.json holds sections and the timeline"; else bad "report.json content"; fi
import json, sys
r = json.load(open(sys.argv[1]))
for k in ["format", "run_id", "pipeline", "name", "status", "exit_code", "started_at",
          "finished_at", "duration_ms", "resumed", "failure", "stages", "artifacts", "outputs",
          "timeline", "sections"]:
    assert k in r, k
assert r["status"] == "failed" and r["failure"]["stage"] == "broken", r["failure"]
s = r["sections"]
assert [x["stage"] for x in s] == ["canary", "broken"], s
assert s[0]["uses"] == "section_writer"
assert s[0]["section"]["title"] == "Canary <script>alert(1)</script>"
assert isinstance(s[0]["section"]["events"][0]["t"], int)
assert "section" not in s[1]
assert s[1]["error"].startswith("artifacts/broken/report-section.json: line 1: "), s[1]["error"]
tl = r["timeline"]
ts = [e["t"] for e in tl]
assert ts == sorted(ts), "timeline not sorted"
labels = [e["label"] for e in tl]
for want in ["run started", "weight 25%", "breach: tool_error_rate 0.21 vs 0.04",
             "on_failure handler started (emit)", "run failed"]:
    assert want in labels, (want, labels)
assert labels[0] == "run started" and labels[-1] == "run failed", labels
assert any(e["event"] == "stage_end" and e["stage"] == "broken" and e["status"] == "fail" for e in tl)
assert all(e["status"] in ("pass", "fail", "warn", "info") for e in tl)
PY

# The page: self-contained, escaped, and holding what report.json holds.
h="$d/report.html"
out=$(grep -o 'http[^" <]*' "$h")
expect_eq "$out" "" "no URL anywhere in report.html"
out=$(grep -oE '(src|href)=' "$h")
expect_eq "$out" "" "nothing loaded from anywhere"
out=$(grep -c '<script' "$h")
expect_eq "$out" "1" "only the page's own script"
out=$(cat "$h")
expect_out "Canary &lt;script&gt;alert(1)&lt;/script&gt;" "section titles are escaped"
expect_out "timeout &lt;after 30 s&gt;" "table cells are escaped"
expect_out "section unreadable: artifacts/broken/report-section.json: line 1:" "the broken section says why"
if python3 - "$d/report.json" "$h" <<'PY'; then ok "every title, row and event of report.json is in the page"; else bad "report.html lacks data"; fi
import html, json, sys
r = json.load(open(sys.argv[1]))
page = open(sys.argv[2]).read()
def has(text):
    assert html.escape(text, quote=True).replace("&#x27;", "&#39;") in page, text
for st in r["stages"]:
    has(st["id"])
for e in r["timeline"]:
    has(e["label"])
for s in r["sections"]:
    sec = s.get("section", {})
    has(sec.get("title", s["stage"]))
    for t in sec.get("tables", []):
        for row in t["rows"]:
            has(row[0])
    for c in sec.get("charts", []):
        has(c["title"])
PY

# held_run NAME: run a pipeline whose first stage writes its section, then holds until
# $T/NAME.go exists; interrupt it there (SIGTERM). The run's id is in $id.
held_run() {
    cat >"$T/$1.yaml" <<YAML
version: 1
name: report-resume
stages:
  - id: first
    uses: section_writer
    with:
      section: {title: First half, events: [{t: "@t+0", label: before the stop}]}
      hold_until: $T/$1.go
  - id: second
    uses: section_writer
    with:
      section: {title: Second half, summary: [{label: done, value: "yes", status: pass}]}
YAML
    local before
    before=$(last_run 2>/dev/null)
    "$SLIPWAY" run "$T/$1.yaml" --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/$1.out" 2>&1 &
    local pid=$!
    for _ in $(seq 1 200); do
        local now
        now=$(last_run 2>/dev/null)
        [ "$now" != "$before" ] && [ -e "$SLIPWAY_STATE_DIR/runs/$now/artifacts/first/report-section.json" ] && break
        sleep 0.05
    done
    kill -TERM $pid
    wait $pid
    rc=$?
    out=$(cat "$T/$1.out")
    id=$(last_run)
}

# Interrupt a run inside a stage, resume it: the resumed run's report has both halves.
held_run hold
expect_rc 3 "the held run is interrupted"
expect_eq "$(json "$(run_dir)/report.json" 'd["status"]')" "interrupted" "report.json says interrupted"
grep -q 'badge s-warn">interrupted' "$(run_dir)/report.html" && ok "report.html says interrupted" || bad "interrupted report.html"
touch "$T/hold.go"
sw resume "$id"
expect_rc 0 "the resumed run finishes"
expect_out "report:     $(run_dir)/report.html" "resume names report.html too"
if python3 - "$(run_dir)/report.json" <<'PY'; then ok "the resumed report has both halves"; else bad "resumed report"; fi
import json, sys
r = json.load(open(sys.argv[1]))
assert r["resumed"] is True and r["status"] == "succeeded"
assert [s["section"]["title"] for s in r["sections"]] == ["First half", "Second half"]
labels = [e["label"] for e in r["timeline"]]
for want in ["run started", "before the stop", "run interrupted (resumable)", "run resumed", "run succeeded"]:
    assert want in labels, (want, labels)
PY
out=$(cat "$(run_dir)/report.html")
expect_out "Second half" "the resumed report.html shows the second section"
expect_out "<dt>resumed</dt>" "the page says the run was resumed"

# report.html that cannot be written (a folder is in its way) is a warning, not a failure.
held_run blocked
expect_rc 3 "the second held run is interrupted"
rm -f "$(run_dir)/report.html"
mkdir -p "$(run_dir)/report.html/in-the-way"
touch "$T/blocked.go"
sw resume "$id"
expect_rc 0 "the run succeeds without its report.html"
expect_eq "$(json "$(run_dir)/report.json" 'd["status"]')" "succeeded" "report.json is still written"
python3 - "$(run_dir)/journal.jsonl" <<'PY' && ok "the journal warns about report.html" || bad "no warning about report.html"
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if any(e["event"] == "log" and e.get("level") == "warn" and
                  e.get("message", "").startswith("report.html not written: ") for e in evs) else 1)
PY

# A secret a stage puts in its section is masked in the report, as everywhere the run writes.
cat >"$T/secret.yaml" <<'YAML'
version: 1
name: report-secret
stages:
  - id: leaky
    uses: section_writer
    with:
      section: {title: "called with ${env.SW_REPORT_TOKEN}", text: "${env.SW_REPORT_TOKEN}"}
YAML
SW_REPORT_TOKEN=tok-report-8c7b6a5d sw run "$T/secret.yaml"
expect_rc 0 "a section with a secret in it"
grep -q "tok-report-8c7b6a5d" "$(run_dir)/report.json" "$(run_dir)/report.html" &&
    bad "the secret is in the report" || ok "the secret is masked in report.json and report.html"
expect_eq "$(json "$(run_dir)/report.json" 'd["sections"][0]["section"]["title"]')" "called with ***" "the section shows the mask"

# A real browser: parse, run the script, render.
if [ ! -x "$CHROMIUM" ]; then
    echo "# $CHROMIUM not installed: skipping the browser checks"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && exit 77
    exit 1
fi

# chromium ARGS...: headless, offline, its own profile; 60 s at most.
chromium_run() {
    local profile
    profile=$(mktemp -d "$T/profile.XXXXXX")
    setsid "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" "$@" >"$T/chromium.out" 2>"$T/chromium.err" </dev/null &
    cpid=$!
    local waited=0
    while kill -0 "$cpid" 2>/dev/null && [ $waited -lt 600 ]; do sleep 0.1; waited=$((waited + 1)); done
    kill -KILL -- "-$cpid" 2>/dev/null
    wait "$cpid" 2>/dev/null
    crc=$?
    cpid=
    [ $waited -lt 600 ] || crc=124
}

chromium_run --dump-dom "file://$h"
expect_eq "$crc" "0" "chromium dumps the DOM"
if python3 - "$T/chromium.out" <<'PY'; then ok "the browser parsed the SVG and ran the filter script"; else out=$(tail -5 "$T/chromium.err"); bad "DOM after load"; fi
import re, sys
dom = open(sys.argv[1]).read()
assert 'data-filters="ready"' in dom, "filter script did not run"
assert dom.count("<svg") >= 5, dom.count("<svg")          # strip + 4 charts
assert dom.count('class="series"') >= 3                    # two lines and a step
assert dom.count("<rect") >= 8                             # bars, legends, spans
assert "<script>alert(1)</script>" not in dom
assert "Canary &lt;script&gt;alert(1)&lt;/script&gt;" in dom
assert dom.count('<tr data-f="PASS">') == 2
assert re.search(r'<button type="button" data-value="FAIL">FAIL \(1\)</button>', dom)
PY

chromium_run --screenshot="$T/shot.png" --window-size=1280,2000 "file://$h"
expect_eq "$crc" "0" "chromium takes a screenshot"
# To look at the page and its rendering: SW_REPORT_KEEP=DIR keeps both there.
[ -n "${SW_REPORT_KEEP:-}" ] && cp "$h" "$T/shot.png" "$SW_REPORT_KEEP/"
if python3 - "$T/shot.png" <<'PY'; then ok "the screenshot is 1280x2000, coloured, not blank"; else bad "screenshot"; fi
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, ihdr = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        ihdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
w, h, depth, ctype = ihdr[:4]
assert (w, h) == (1280, 2000), (w, h)
assert depth == 8 and ctype in (2, 6), (depth, ctype)
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
colours = set()
pos = 0
# The top 1200 rows hold the header, the stage table and the timeline strip.
for y in range(1200):
    f = raw[pos]
    line = bytearray(raw[pos + 1:pos + 1 + stride])
    pos += 1 + stride
    if f == 1:
        for i in range(bpp, stride):
            line[i] = (line[i] + line[i - bpp]) & 255
    elif f == 2:
        for i in range(stride):
            line[i] = (line[i] + prev[i]) & 255
    elif f == 3:
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
    elif f == 4:
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
            line[i] = (line[i] + pr) & 255
    for x in range(0, stride, bpp * 2):
        colours.add(bytes(line[x:x + 3]))
    prev = line
assert len(colours) > 50, len(colours)
def near(rgb):
    return any(all(abs(c[i] - rgb[i]) < 24 for i in range(3)) for c in colours)
assert near((0xcf, 0x22, 0x2e)), "no red (failed badge, failed span)"
assert near((0x2d, 0xa4, 0x4e)) or near((0x1a, 0x7f, 0x37)), "no green (succeeded stages)"
PY
finish
