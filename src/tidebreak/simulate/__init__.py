"""The reach simulator: a synthetic follower network, share cascades, tidebreak on and off.

    from tidebreak.simulate import SimConfig, run
    result = run(SimConfig(seed=1))
    result.figures["prevented_share"], result.figures["collateral_share"]
"""

from tidebreak.simulate.run import SimConfig, SimResult, run

__all__ = ["SimConfig", "SimResult", "run"]
