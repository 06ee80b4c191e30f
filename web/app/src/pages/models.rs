//! Models and inference: the vLLM pool's backends (health, breaker, load, mean latency) and
//! the tenant's LoRA adapters with their versions, promotion and roll-back.

use std::collections::BTreeMap;

use aoi_platform::inference_metrics::VersionSnapshot;
use aoi_platform::models::AdapterView;
use aoi_router::BackendStats;
use aoi_store::AdapterStatus;
use leptos::prelude::*;

use super::{Section, Viewer, badge, document, time};

pub struct ModelsView {
    pub backends: Vec<BackendStats>,
    /// Whether `[[inference.backends]]` configures a pool at all.
    pub pool: bool,
    pub adapters: Vec<AdapterView>,
    /// Each version's calls in this process: the canary's results beside the active one's.
    pub results: Vec<VersionSnapshot>,
    pub can_manage: bool,
}

/// `12 ok · 1 failed · 340 ms mean`, or a dash when the version served no call.
fn results_text(results: &[VersionSnapshot], name: &str, version: u32) -> String {
    let Some(r) = results.iter().find(|r| r.name == name && r.version == version) else {
        return "—".to_owned();
    };
    let count = |label: &str| {
        r.figures
            .outcomes
            .iter()
            .find(|(l, _)| *l == label)
            .map_or(0, |(_, n)| *n)
    };
    let latency = &r.figures.latency;
    let mean = if latency.count > 0 {
        format!(" · {:.0} ms mean", latency.sum_seconds / latency.count as f64 * 1000.0)
    } else {
        String::new()
    };
    format!("{} ok · {} failed{mean}", count("ok"), count("failed"))
}

fn backends_section(view: &ModelsView) -> AnyView {
    if !view.pool {
        return view! { <p class="empty">"No inference backend is configured: sessions use the built-in policy. Add "<code>"[[inference.backends]]"</code>" to the configuration to route to a vLLM pool."</p> }.into_any();
    }
    let rows = view
        .backends
        .iter()
        .map(|b| {
            let health = if b.healthy { badge("ok", "healthy") } else { badge("alert", "unhealthy") };
            let breaker = format!("{:?}", b.breaker).to_lowercase();
            let trust = format!("{:?}", b.trust).to_lowercase();
            let mean = if b.latency.count > 0 {
                format!("{:.0} ms", b.latency.sum_seconds / b.latency.count as f64 * 1000.0)
            } else {
                "—".to_owned()
            };
            let errors = format!("{} / {}", b.errors, b.requests);
            let models = b.models.join(", ");
            view! {
                <tr data-backend=b.name.clone()>
                    <td>{b.name.clone()}</td>
                    <td><code>{b.url.clone()}</code></td>
                    <td>{trust}</td>
                    <td>{health}</td>
                    <td>{breaker}</td>
                    <td>{b.in_flight}</td>
                    <td>{errors}</td>
                    <td>{mean}</td>
                    <td>{models}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table>
            <thead><tr><th scope="col">"Backend"</th><th scope="col">"URL"</th><th scope="col">"Trust"</th><th scope="col">"Health"</th><th scope="col">"Breaker"</th><th scope="col">"In flight"</th><th scope="col">"Errors / requests"</th><th scope="col">"Mean latency"</th><th scope="col">"Models"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

fn status_kind(status: AdapterStatus) -> &'static str {
    match status {
        AdapterStatus::Active => "ok",
        AdapterStatus::Canary => "wait",
        AdapterStatus::Candidate => "busy",
        AdapterStatus::Retired => "muted",
    }
}

fn version_actions(a: &AdapterView) -> Option<AnyView> {
    let promote = format!("/console/models/{}/versions/{}/promote", a.name, a.version);
    let percent_id = format!("canary-{}-{}", a.name, a.version);
    match a.status {
        AdapterStatus::Candidate => Some(
            view! {
                <form method="post" action=promote.clone() class="inline-form">
                    <input type="hidden" name="to" value="canary"/>
                    <div class="field"><label for=percent_id.clone()>"Canary share (%)"</label><input id=percent_id name="canary_percent" type="number" min="1" max="99" value="10" required=true/></div>
                    <button type="submit">"Start canary"</button>
                </form>
                <form method="post" action=promote class="inline-form">
                    <input type="hidden" name="to" value="active"/>
                    <button type="submit" class="primary">"Make active"</button>
                </form>
            }
            .into_any(),
        ),
        AdapterStatus::Canary => Some(
            view! {
                <form method="post" action=promote class="inline-form">
                    <input type="hidden" name="to" value="active"/>
                    <button type="submit" class="primary">"Promote canary to active"</button>
                </form>
            }
            .into_any(),
        ),
        AdapterStatus::Active | AdapterStatus::Retired => None,
    }
}

fn adapters_section(view: &ModelsView) -> AnyView {
    if view.adapters.is_empty() {
        return view! { <p class="empty">"No adapter is registered for this tenant ("<code>"POST /api/v1/models/adapters"</code>" after a training run)."</p> }.into_any();
    }
    let mut by_name: BTreeMap<&str, Vec<&AdapterView>> = BTreeMap::new();
    for a in &view.adapters {
        by_name.entry(a.name.as_str()).or_default().push(a);
    }
    by_name
        .into_iter()
        .map(|(name, versions)| {
            let rows = versions
                .iter()
                .map(|a| {
                    let share = (a.status == AdapterStatus::Canary).then(|| format!("{}%", a.canary_percent));
                    let actions = if view.can_manage { version_actions(a) } else { None };
                    let results = results_text(&view.results, &a.name, a.version);
                    view! {
                        <tr data-version=a.version>
                            <td>{a.version}</td>
                            <td>{badge(status_kind(a.status), a.status.as_str())}" "{share}</td>
                            <td><code>{a.base_model.clone()}</code></td>
                            <td><code>{a.source.clone()}</code></td>
                            <td>{a.notes.clone()}</td>
                            <td>{time(&a.created_at)}</td>
                            <td data-testid="results">{results}</td>
                            <td>{actions}</td>
                        </tr>
                    }
                })
                .collect_view();
            let rollback = view.can_manage.then(|| {
                let action = format!("/console/models/{name}/rollback");
                view! {
                    <form method="post" action=action>
                        <button type="submit" class="deny">"Roll back "{name.to_owned()}</button>
                    </form>
                }
            });
            view! {
                <article class="card" data-adapter=name.to_owned()>
                    <h3>{name.to_owned()}</h3>
                    <table>
                        <thead><tr><th scope="col">"Version"</th><th scope="col">"Status"</th><th scope="col">"Base model"</th><th scope="col">"Source"</th><th scope="col">"Notes"</th><th scope="col">"Registered"</th><th scope="col">"Calls here"</th><th scope="col">"Actions"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                    {rollback}
                </article>
            }
        })
        .collect_view()
        .into_any()
}

pub fn page(viewer: &Viewer, view: &ModelsView) -> String {
    let backends = backends_section(view);
    let adapters = adapters_section(view);
    document("Models", Some((viewer, Section::Models)), move || {
        view! {
            <h1>"Models and inference"</h1>
            <h2>"Inference pool"</h2>
            {backends}
            <h2>"Adapters"</h2>
            <p class="meta">"A candidate becomes a canary (a share of the name's requests) or active; a roll-back aborts the canary, or else restores the previous active version. Training runs ("<code>"aoi train"</code>", the GPU recipe) register candidates. Calls here: this server's calls to each version since it started, a canary's results beside the active version's."</p>
            {adapters}
        }
        .into_any()
    })
}
