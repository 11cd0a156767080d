"""pdfminer.six's text of PDFs, timed, and how far Hearth's (from `hearth-cli read-doc`) agrees with
it word for word: the peer half of tests/bench/pdf-text-vs-pdfminer.sh."""
import difflib
import re
import subprocess
import sys
import time

from pdfminer.high_level import extract_text

cli, passes, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]


def words(s):
    return re.sub(r"\s+", " ", s.replace("\x0c", " ")).split()


for f in files:
    t0 = time.perf_counter()
    for _ in range(passes):
        ref = extract_text(f)
    peer_ms = (time.perf_counter() - t0) * 1000 / passes
    ours = subprocess.run([cli, "read-doc", f], capture_output=True, text=True).stdout
    bench = subprocess.run([cli, "read-doc", "--bench", str(passes), f], capture_output=True, text=True).stdout
    ours_ms = float(re.search(r"([0-9.]+) ms per read", bench).group(1))
    a, b = words(ref), words(ours)
    matched = sum(m.size for m in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())
    ca, cb = "".join(a), "".join(b)
    cmatched = sum(m.size for m in difflib.SequenceMatcher(None, ca, cb, autojunk=False).get_matching_blocks())
    print(f"{f.split('/')[-1]}: pdfminer {len(a)} words in {peer_ms:.1f} ms, Hearth {len(b)} words in {ours_ms:.2f} ms "
          f"({peer_ms / ours_ms:.0f}x); words in pdfminer's order {100 * matched / max(len(a), 1):.1f}%, "
          f"characters {100 * cmatched / max(len(ca), 1):.1f}%")
