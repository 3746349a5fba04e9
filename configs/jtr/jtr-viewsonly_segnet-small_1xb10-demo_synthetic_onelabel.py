# A control, not a method: JTR-stable's three views and its auto-encoder's
# training, with no regularizer gradient ever reaching the MTL network (the
# detached warm-up of the stable options lasts longer than the 1085-iteration
# schedule). Against supervised MTL it measures what the extra views alone do
# (the backbone's BatchNorm statistics over 3B images, crops included, as in
# the official code); against JTR-stable, what JTR's gradient adds
# (docs/results.md).
_base_ = ['./jtr-stable_segnet-small_1xb10-demo_synthetic_onelabel.py']
model = dict(regularizers=[
    dict(type='JTR', dist_weight=4.0, recon_dist_weight=2.0, recon_weight=2.0,
         channels=(16, 32, 48, 64, 64), warmup_iters=10**9, rampup_epochs=54)
])
