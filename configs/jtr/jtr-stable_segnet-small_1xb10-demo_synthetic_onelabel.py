# JTR with the stability options on the synthetic scenes, onelabel
# (docs/results.md): for the first 71 iterations (about 14 epochs) the
# regularizer sees detached predictions, so its own networks train but no
# regularizer gradient reaches the MTL network; then its losses ramp up
# linearly over 54 epochs (a quarter of the schedule). Not in the official
# code; everything else as jtr_segnet-small_1xb10-demo_synthetic_onelabel.py.
_base_ = ['./jtr_segnet-small_1xb10-demo_synthetic_onelabel.py']
model = dict(regularizers=[
    dict(type='JTR', dist_weight=4.0, recon_dist_weight=2.0, recon_weight=2.0,
         channels=(16, 32, 48, 64, 64), warmup_iters=71, rampup_epochs=54)
])
