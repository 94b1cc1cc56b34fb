"""Models: every registered model with its card and metrics; compare confusion matrices; promote the default."""

import pandas as pd
import streamlit as st

from dashboard import charts_ml, cv_view, reference_view, refusal_view, state
from dashboard.ui import guarded, plain
from engine.ml import registry
from engine.ml.intended_use import intended_use

st.title("Models")
st.caption(
    f"Models trained here are stored in HDFS under {registry.models_root()}/<id>/ with a model card; the shipped model lives in "
    "assets/models/. The default model answers on the Classify page."
)


def cv_accuracy(card: dict) -> str:
    """The cross-validated accuracy sentence of a card that has one (`models cv`), else nothing."""
    cv = card.get("cross_validation")
    if not cv:
        return ""
    return f"Cross-validated accuracy {cv['accuracy']:.2%} ({cv['folds_done']} of {cv['folds']} folds, {cv['n']:,} scans, lowest recall {cv['lowest_recall']:.1%} {cv['lowest_recall_class']}). "


def promote(model_id: str) -> None:
    with guarded(f"promote {model_id}"):
        registry.promote(state.settings(), state.storage(), model_id)
        st.session_state.pop(f"models.confirm.{model_id}", None)
        st.rerun()


cards = []
with guarded("read the model registry"):
    cards = registry.list_models(state.settings(), state.storage())
if not cards:
    st.info("No model yet. Train one on the Train page.")
    st.stop()

table = pd.DataFrame(
    [
        {
            "default": "★" if c["default"] else "",
            "model": c["model_id"],
            "source": c["source"],
            "architecture": c["architecture"],
            # cross-validated first: the validation split chose the model, so its accuracy is an upper bound
            "accuracy (cross-validated)": round(c["cross_validation"]["accuracy"], 4) if c.get("cross_validation") else None,
            "lowest recall (cross-validated)": round(c["cross_validation"]["lowest_recall"], 4) if c.get("cross_validation") else None,
            "validation split accuracy": round(c["validation"]["accuracy"], 4),
            "macro F1": round(c["validation"]["macro_f1"], 4),
            "glioma recall": round(c["validation"]["per_class"]["glioma"]["recall"], 4),
            "ECE": round(c["validation"]["ece"], 4),
            "n": c["validation"]["n"],
            "created": c["created"],
        }
        for c in cards
    ]
)
st.dataframe(table, hide_index=True, width="stretch")

chosen = st.multiselect("Compare", [c["model_id"] for c in cards], default=[c["model_id"] for c in cards[:2]], max_selections=3)
cols = st.columns(max(1, len(chosen)))
for col, model_id in zip(cols, chosen):
    card = next(c for c in cards if c["model_id"] == model_id)
    v = card["validation"]
    with col:
        st.markdown(f"**{model_id}**")
        st.caption(
            f"{card['architecture']}, {card['parameters']:,} parameters, trained on {card['training']['dataset']} "
            f"({card['training']['mode']}, {card['training']['epochs']} epochs, {card['training']['seconds']:.0f} s). "
            + cv_accuracy(card)
            + f"On its validation split {v['accuracy']:.2%} (95% CI {v['accuracy_ci95'][0]:.1%}–{v['accuracy_ci95'][1]:.1%}; the split that chose it), "
            f"temperature {card['temperature']:.2f}." + (f" Adapted from {card['init_from']}." if card.get("init_from") else "")
        )
        st.plotly_chart(charts_ml.confusion(v["confusion_matrix"], v["classes"]), width="stretch", key=f"cm-{model_id}")
        st.plotly_chart(charts_ml.reliability_diagram(card["reliability"]), width="stretch", key=f"rel-{model_id}")
        st.caption(f"ECE {v['ece']:.3f} after temperature scaling")
        if not card["default"]:
            confirm = f"models.confirm.{model_id}"
            if st.button("Make default", key=f"promote-{model_id}", icon=":material/star:"):
                st.session_state[confirm] = registry.promotion_concern(cards, model_id) or ""
                if not st.session_state[confirm]:
                    promote(model_id)
            if st.session_state.get(confirm):
                st.warning(plain(st.session_state[confirm]), icon=":material/warning:")
                yes, no = st.columns(2)
                if yes.button("Promote anyway", key=f"promote-yes-{model_id}", type="primary"):
                    promote(model_id)
                if no.button("Keep the current default", key=f"promote-no-{model_id}"):
                    st.session_state.pop(confirm)
                    st.rerun()
        with st.expander("Intended use", icon=":material/health_and_safety:", expanded=card["default"]):
            use = intended_use(card)
            st.markdown(f"{use['use']}\n\n**Trained on** {use['trained_on']}.\n\n**Expected on unseen scans:** {use['figures']}.")
            st.markdown("**Out of scope:**\n" + "\n".join(f"- {item}" for item in use["out_of_scope"]))
        with st.expander("Model card (JSON)"):
            st.json({k: val for k, val in card.items() if k not in ("history", "reliability")}, expanded=False)

st.divider()
cv_view.cv_section()
st.divider()
refusal_view.refusal_section()
st.divider()
reference_view.adapt_section()
