#!/usr/bin/env bash
# Rebuilds bench/REPORT.md from every results file (scripts/bench.sh and
# scripts/bench/pipelines.sh write them under bench/results/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
{
    echo "# pg2es benchmark report"
    echo
    echo "Written by \`make bench\` (scripts/bench.sh, scripts/bench/pipelines.sh, scripts/bench/source-cost.sh, scripts/bench/standby-cost.sh); one section per"
    echo "data size, newest run of each. Targets: E ≤ 1.15, peak RSS ≤ 128 MB and within ±10% between"
    echo "100k and 1M films, back-fill ≥ 5× faster than PGSync, a renamed person in 1,000 films"
    echo "searchable within 2 refresh intervals; the declared movies pipeline back-filling within 5% of"
    echo "the compiled one it replaced; logical capture costing the source database ≤ 5 % of its write throughput."
    echo
    for file in $(find bench/results -name "films-*.md" | sort -t- -k2 -n) \
        $(find bench/results -name "pipelines-*.md" | sort -t- -k2 -n) \
        $(find bench/results -name "source-cost.md") \
        $(find bench/results -name "standby-cost.md"); do
        cat "$file"
        echo
    done
    [[ -f bench/NOTES.md ]] && cat bench/NOTES.md
} >bench/REPORT.md
