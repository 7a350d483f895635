#!/usr/bin/env bash
# Reproduce the study (Comanducci, Antonacci, Sarti, EUSIPCO 2024) and write docs/reproduction.md.
#
#   scripts/reproduce_study.sh [WEIGHTS_DIR]      (default: ../shared/reference/samplecnn)
#
# 1. the paper-lite preset with our LocCNN and SampleCNN and the authors' released SampleCNN
#    weights (samplecnn@authors, one state_dict per condition, from WEIGHTS_DIR): about 45 min cold
#    on 2 CPU cores;
# 2. four ablations of the authors' weights, one scene setting changed at a time (a control with
#    nothing changed, the pyroomacoustics RIR convention, calibrated absorption, exact RIRs): they
#    evaluate only samplecnn@authors, with fewer training sources (the test set is the same: the
#    control proves it) and 16 explained windows; about 10 min;
# 3. `ssl-xai-bench reproduce` over the stored results (nothing recomputed).
# Every step reads what is already in the store: a rerun takes a minute.
# Runs inside the test environment (`python3 -m tox -e tests --notest` creates it).
set -euo pipefail
cd "$(dirname "$0")/.."
weights=${1:-../shared/reference/samplecnn}
bin=.tox/tests/bin/ssl-xai-bench
[ -x "$bin" ] || python3 -m tox -q -e tests --notest
for f in model_SNR_25_T60_0.15.pth model_SNR_20_T60_0.3.pth model_SNR_15_T60_0.4.pth \
         model_SNR_10_T60_0.6.pth; do
  [ -f "$weights/$f" ] || { echo "error: $weights/$f not found (the authors' SampleCNN weights)" >&2; exit 2; }
done
authors=(--weights "samplecnn@authors:0.15/25=$weights/model_SNR_25_T60_0.15.pth"
         --weights "samplecnn@authors:0.3/20=$weights/model_SNR_20_T60_0.3.pth"
         --weights "samplecnn@authors:0.4/15=$weights/model_SNR_15_T60_0.4.pth"
         --weights "samplecnn@authors:0.6/10=$weights/model_SNR_10_T60_0.6.pth")

# The committed reference results: written into results/ with the explicit flag (a plain run
# writes into runs/, ignored by git).
reference=(--results-dir results --update-reference)
"$bin" run --preset paper-lite --models loccnn,samplecnn,samplecnn@authors "${authors[@]}" \
  "${reference[@]}"

ablation=(--preset paper-lite --models samplecnn@authors --methods lrp "${authors[@]}"
          --set scene.sources.n_train=48 --set scene.sources.n_val=16
          --set attribution.n_test_windows=16 --set 'metrics.quantus_metrics=[]' --no-report
          "${reference[@]}")
"$bin" run "${ablation[@]}" --name ablation-control
"$bin" run "${ablation[@]}" --name ablation-pyroomacoustics --rir-convention pyroomacoustics
"$bin" run "${ablation[@]}" --name ablation-calibrated --absorption calibrated
"$bin" run "${ablation[@]}" --name ablation-exact --rir-mode exact

"$bin" reproduce results/paper-lite --out docs/reproduction.md --update-reference \
  --ablation "nothing changed (control)=results/ablation-control" \
  --ablation "rir_convention=pyroomacoustics=results/ablation-pyroomacoustics" \
  --ablation "absorption=calibrated=results/ablation-calibrated" \
  --ablation "rir_mode=exact=results/ablation-exact"
