//! The console's browser entry. `assets/boot.js` loads this bundle, calls [`hydrate`], then
//! hands each `<leptos-island>` of the page to the export its `data-component` names.

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    aoi_console::hydrate();
}
