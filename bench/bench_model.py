"""The benchmark model shared by `serving_models.py` and `transform.py`: an XGBoost classifier,
500 trees of depth 6 on 30 features, trained on 20,000 seeded rows."""
import numpy as np
import xgboost as xgb

FEATURES = [f"f{i}" for i in range(30)]


def train(rng):
    """Returns (fitted XGBClassifier, its float32 training rows); the booster knows FEATURES."""
    x = rng.normal(size=(20000, 30)).astype(np.float32)
    y = ((x[:, :5].sum(axis=1) + 0.5 * x[:, 5] * x[:, 6]) > 0).astype(int)
    model = xgb.XGBClassifier(n_estimators=500, max_depth=6, learning_rate=0.1, tree_method="hist")
    model.fit(x, y)
    model.get_booster().feature_names = FEATURES
    return model, x
