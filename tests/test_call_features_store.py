from softswitch.config import from_dict
from softswitch.extensions import seed_call_features
from softswitch.store import Store
from softswitch.store.call_features import CallFeatures, CallFeatureStore


def test_unknown_extension_has_everything_off(store_url):
    store = CallFeatureStore(Store(store_url).db)
    assert store.get("101") == CallFeatures()


def test_put_replaces_and_survives_reopening(store_url):
    store = CallFeatureStore(Store(store_url).db)
    store.put("101", CallFeatures(forward_busy="103", dnd=True))
    store.put("101", CallFeatures(forward_always="+15550100", no_answer_seconds=9))
    store.put("102", CallFeatures(dnd=True))
    again = CallFeatureStore(Store(store_url).db)
    assert again.get("101") == CallFeatures(forward_always="+15550100", no_answer_seconds=9)
    assert again.get("102").dnd


def test_config_seeds_only_the_first_values(store_url):
    store = CallFeatureStore(Store(store_url).db)
    config = from_dict(
        {
            "extensions": [
                {
                    "number": "101",
                    "password": "x",
                    "forward_no_answer": "103",
                    "no_answer_timeout": 5,
                },
                {"number": "102", "password": "y", "dnd": True},
            ]
        },
        {},
    )
    store.put("999", CallFeatures(dnd=True))  # an extension no longer configured
    seed_call_features(store, config)
    assert store.get("101") == CallFeatures(forward_no_answer="103", no_answer_seconds=5)
    assert store.get("102").dnd
    assert store.get("999") == CallFeatures()  # forgotten
    store.put("102", CallFeatures())  # *79 from the phone
    seed_call_features(store, config)  # a restart
    assert not store.get("102").dnd
