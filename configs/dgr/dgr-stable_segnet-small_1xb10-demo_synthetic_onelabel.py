# DGR with the stability options on the synthetic scenes, onelabel
# (docs/results.md): for the first 71 iterations (about 14 epochs) the
# regularizer sees detached predictions, so its own networks train but no
# regularizer gradient reaches the MTL network; then its losses ramp up
# linearly over 54 epochs (a quarter of the schedule). Not in the official
# code; everything else as dgr_segnet-small_1xb10-demo_synthetic_onelabel.py.
_base_ = ['./dgr_segnet-small_1xb10-demo_synthetic_onelabel.py']
model = dict(regularizers=[
    dict(type='DGR', lambda_=0.1, h=1e-3, num_dummy=1, mode='fd', warmup_iters=71, rampup_epochs=54)
])
