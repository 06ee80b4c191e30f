//! The browser side of [`crate::islands::LiveRegion`]: the event stream, the re-render and the
//! inline forms.

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Element, Event, EventSource, FormData, Headers, HtmlElement, HtmlFormElement, MessageEvent,
    RequestInit, Response, UrlSearchParams,
};

/// The header that tells the server a request comes from this script: it then answers
/// errors as plain text (and 401 instead of a redirect to sign-in) and successes as 204.
const INLINE_HEADER: &str = "x-console-inline";

struct Region {
    el: HtmlElement,
    src: String,
    busy: Cell<bool>,
    again: Cell<bool>,
}

/// Starts following the live events for the region `el`, once.
pub fn follow(el: web_sys::HtmlElement, src: String) {
    if el.has_attribute("data-live-bound") {
        return;
    }
    let _ = el.set_attribute("data-live-bound", "");
    let region = Rc::new(Region {
        el,
        src,
        busy: Cell::new(false),
        again: Cell::new(false),
    });
    listen(&region);
    inline_forms(&region);
    resume_after_typing(&region);
}

fn mark(region: &Region, state: &str, status: &str) {
    let _ = region.el.set_attribute("data-live", state);
    if let Ok(Some(line)) = region.el.query_selector(".live-status") {
        line.set_text_content(Some(status));
    }
}

fn listen(region: &Rc<Region>) {
    let Ok(source) = EventSource::new("/console/live") else {
        mark(
            region,
            "off",
            "Live updates are not available in this browser.",
        );
        return;
    };
    let on_open = {
        let r = region.clone();
        Closure::<dyn FnMut(Event)>::new(move |_| {
            mark(&r, "connected", "Live: changes appear as they happen.");
            // Whatever changed while the stream was down.
            refresh(r.clone(), false);
        })
    };
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    on_open.forget();
    let on_message = {
        let r = region.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |_| refresh(r.clone(), false))
    };
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let on_error = {
        let r = region.clone();
        let source = source.clone();
        Closure::<dyn FnMut(Event)>::new(move |_| {
            if source.ready_state() == EventSource::CLOSED {
                mark(
                    &r,
                    "expired",
                    "Live updates stopped: reload the page (you may need to sign in again).",
                );
            } else {
                mark(&r, "reconnecting", "Reconnecting to live updates...");
            }
        })
    };
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
}

/// Whether someone is typing in the region: a focused field, or a field whose value differs
/// from the one the server rendered.
fn typing(region: &Region) -> bool {
    let Ok(fields) = region.el.query_selector_all(
        "textarea, input[type=text], input[type=password], input[type=url], input[type=number]",
    ) else {
        return false;
    };
    for i in 0..fields.length() {
        let Some(node) = fields.item(i) else { continue };
        let changed = if let Some(area) = node.dyn_ref::<web_sys::HtmlTextAreaElement>() {
            Ok(area.value()) != area.default_value()
        } else if let Some(input) = node.dyn_ref::<web_sys::HtmlInputElement>() {
            input.value() != input.default_value()
        } else {
            false
        };
        if changed {
            return true;
        }
    }
    false
}

/// Fetches the region's body again and swaps it in (`force`: even while someone types, after
/// their own form went through). Events that arrive meanwhile cause one more fetch, not one
/// each.
fn refresh(region: Rc<Region>, force: bool) {
    if !force && typing(&region) {
        region.again.set(true);
        mark(
            &region,
            "paused",
            "Updates wait while you type; they resume when you leave the field.",
        );
        return;
    }
    if region.busy.get() {
        region.again.set(true);
        return;
    }
    region.busy.set(true);
    wasm_bindgen_futures::spawn_local(async move {
        loop {
            region.again.set(false);
            match fetch(&region.src, None).await {
                Ok((200, body)) => {
                    if let Ok(Some(target)) = region.el.query_selector(".live-body") {
                        target.set_inner_html(&body);
                    }
                    mark(&region, "connected", "Live: changes appear as they happen.");
                }
                Ok((401, _)) => {
                    mark(
                        &region,
                        "expired",
                        "Your session expired: reload the page to sign in again.",
                    );
                    break;
                }
                Ok((status, _)) => mark(
                    &region,
                    "stale",
                    &format!("Could not refresh (HTTP {status}); retrying on the next change."),
                ),
                Err(_) => mark(
                    &region,
                    "stale",
                    "Could not refresh; retrying on the next change.",
                ),
            }
            if !region.again.get() || typing(&region) {
                break;
            }
        }
        region.busy.set(false);
    });
}

/// After typing ends (the field loses focus with its value back to what was rendered, or the
/// form was sent), the waiting refresh runs.
fn resume_after_typing(region: &Rc<Region>) {
    let r = region.clone();
    let on_focus_out = Closure::<dyn FnMut(Event)>::new(move |_| {
        if r.again.get() && !typing(&r) {
            refresh(r.clone(), false);
        }
    });
    let _ = region
        .el
        .add_event_listener_with_callback("focusout", on_focus_out.as_ref().unchecked_ref());
    on_focus_out.forget();
}

/// `GET` (no body) or `POST` (a form body) with the inline header; the status and text.
async fn fetch(url: &str, body: Option<&UrlSearchParams>) -> Result<(u16, String), ()> {
    let window = web_sys::window().ok_or(())?;
    let init = RequestInit::new();
    let headers = Headers::new().map_err(|_| ())?;
    headers.set(INLINE_HEADER, "1").map_err(|_| ())?;
    init.set_headers(&headers);
    if let Some(body) = body {
        init.set_method("POST");
        init.set_body(body);
    }
    let response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| ())?;
    let response: Response = response.dyn_into().map_err(|_| ())?;
    let text = JsFuture::from(response.text().map_err(|_| ())?)
        .await
        .map_err(|_| ())?;
    Ok((response.status(), text.as_string().unwrap_or_default()))
}

/// Forms marked `data-inline` inside the region are posted with `fetch`; on success the
/// region re-renders, on failure the server's message appears in the form's `.form-error`.
fn inline_forms(region: &Rc<Region>) {
    let r = region.clone();
    let on_submit = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
        let Some(form) = event
            .target()
            .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
        else {
            return;
        };
        if !form.has_attribute("data-inline") {
            return;
        }
        event.prevent_default();
        let r = r.clone();
        wasm_bindgen_futures::spawn_local(async move { submit(r, form).await });
    });
    let _ = region
        .el
        .add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
    on_submit.forget();
}

fn set_buttons(form: &HtmlFormElement, disabled: bool) {
    if let Ok(buttons) = form.query_selector_all("button") {
        for i in 0..buttons.length() {
            if let Some(button) = buttons.item(i).and_then(|b| b.dyn_into::<Element>().ok()) {
                if disabled {
                    let _ = button.set_attribute("disabled", "");
                } else {
                    let _ = button.remove_attribute("disabled");
                }
            }
        }
    }
}

async fn submit(region: Rc<Region>, form: HtmlFormElement) {
    let error_line = form.query_selector(".form-error").ok().flatten();
    let Ok(data) = FormData::new_with_form(&form) else {
        return;
    };
    let Ok(params) = UrlSearchParams::new_with_str_sequence_sequence(&data) else {
        return;
    };
    set_buttons(&form, true);
    let outcome = fetch(&form.action(), Some(&params)).await;
    set_buttons(&form, false);
    let problem = match outcome {
        Ok((status, _)) if (200..300).contains(&status) => None,
        Ok((401, _)) => Some("Your session expired: reload the page to sign in again.".to_owned()),
        Ok((_, message)) => Some(message),
        Err(()) => Some("The console could not be reached; try again.".to_owned()),
    };
    match (problem, error_line) {
        (None, _) => refresh(region, true),
        (Some(message), Some(line)) => line.set_text_content(Some(&message)),
        (Some(_), None) => refresh(region, true),
    }
}
