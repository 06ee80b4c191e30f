//! Benchmarks: recorded `aoi bench` runs, each with its scores as SVG charts (avg@k against
//! best@k by task type, before and after `--evolve`), its tasks, and the drill-down from a
//! task to its runs and a run's trajectory.

use aoi_platform::benchmarks::{BenchmarkRunDetail, RoundScores};
use aoi_platform::sessions::StepView;
use aoi_store::BenchmarkRunSummary;
use leptos::prelude::*;
use serde_json::Value;

use super::timeline::timeline;
use super::{Section, Viewer, badge, document, time};

pub fn list_page(viewer: &Viewer, runs: &[BenchmarkRunSummary]) -> String {
    let rows = runs
        .iter()
        .map(|r| {
            let href = format!("/console/benchmarks/{}", r.id);
            view! {
                <tr data-run=r.id.to_string()>
                    <td><a href=href>{r.name.clone()}</a></td>
                    <td>{r.suite.clone()}</td>
                    <td>{r.policy.clone()}</td>
                    <td>{r.runs}</td>
                    <td>{r.tasks}</td>
                    <td>{r.recorded_by.clone()}</td>
                    <td>{time(&r.created_at)}</td>
                </tr>
            }
        })
        .collect_view();
    let empty = runs.is_empty().then(|| {
        view! { <p class="empty">"No run recorded yet. Record one with "<code>"AOI_TOKEN=... aoi bench --runs 5 --record http://127.0.0.1:8080"</code>"."</p> }
    });
    document("Benchmarks", Some((viewer, Section::Benchmarks)), move || {
        view! {
            <h1>"Benchmarks"</h1>
            <p class="lede">"Runs of the AIOpsLab suite recorded with "<code>"aoi bench --record"</code>". Scores are computed here from each run's results."</p>
            <table class="runs">
                <thead><tr><th scope="col">"Run"</th><th scope="col">"Suite"</th><th scope="col">"Policy"</th><th scope="col">"k"</th><th scope="col">"Tasks"</th><th scope="col">"Recorded by"</th><th scope="col">"At"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {empty}
        }
        .into_any()
    })
}

/// `0.8333` as `83.3%`.
fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// One series of a bar chart: its name and CSS class.
struct Series {
    name: String,
    class: &'static str,
}

/// A grouped bar chart in SVG: one group per label, one bar per series, values from 0 to 1.
/// Each bar carries `data-series`, `data-group` and `data-value` (four decimals), and its
/// value as text above it; a table with the same numbers follows for assistive technology.
fn bar_chart(id: &str, title: &str, series: Vec<Series>, groups: Vec<(String, Vec<f64>)>) -> AnyView {
    const W: f64 = 720.0;
    const H: f64 = 280.0;
    const LEFT: f64 = 48.0;
    const BOTTOM: f64 = 36.0;
    const TOP: f64 = 16.0;
    let plot_w = W - LEFT - 8.0;
    let plot_h = H - BOTTOM - TOP;
    let group_w = plot_w / groups.len().max(1) as f64;
    let bar_w = (group_w * 0.8) / series.len().max(1) as f64;
    let title_id = format!("{id}-title");
    let grid = [0.0, 0.25, 0.5, 0.75, 1.0]
        .into_iter()
        .map(|v| {
            let y = TOP + plot_h * (1.0 - v);
            let label = percent(v);
            view! {
                <line x1=LEFT y1=y x2=W - 8.0 y2=y class="grid"></line>
                <text x=LEFT - 6.0 y=y + 4.0 class="axis" text-anchor="end">{label}</text>
            }
        })
        .collect_view();
    let bars = groups
        .iter()
        .enumerate()
        .map(|(g, (label, values))| {
            let x0 = LEFT + group_w * g as f64 + group_w * 0.1;
            let bars = values
                .iter()
                .zip(series.iter())
                .enumerate()
                .map(|(i, (value, s))| {
                    let v = value.clamp(0.0, 1.0);
                    let x = x0 + bar_w * i as f64;
                    let h = plot_h * v;
                    let y = TOP + plot_h - h;
                    let class = format!("bar {}", s.class);
                    let text = percent(*value);
                    let data_value = format!("{value:.4}");
                    view! {
                        <rect x=x y=y width=bar_w - 2.0 height=h class=class data-series=s.name.clone() data-group=label.clone() data-value=data_value>
                            <title>{format!("{label}, {}: {text}", s.name)}</title>
                        </rect>
                        <text x=x + (bar_w - 2.0) / 2.0 y=y - 4.0 class="value" text-anchor="middle">{text.clone()}</text>
                    }
                })
                .collect_view();
            let cx = LEFT + group_w * (g as f64 + 0.5);
            view! {
                <g class="group">
                    {bars}
                    <text x=cx y=H - BOTTOM + 18.0 class="axis" text-anchor="middle">{label.clone()}</text>
                </g>
            }
        })
        .collect_view();
    let legend = series
        .iter()
        .map(|s| {
            let class = format!("swatch {}", s.class);
            view! { <li><span class=class aria-hidden="true"></span>{s.name.clone()}</li> }
        })
        .collect_view();
    let header = series
        .iter()
        .map(|s| view! { <th scope="col">{s.name.clone()}</th> })
        .collect_view();
    let rows = groups
        .iter()
        .map(|(label, values)| {
            let cells = values
                .iter()
                .map(|v| view! { <td>{percent(*v)}</td> })
                .collect_view();
            view! { <tr><th scope="row">{label.clone()}</th>{cells}</tr> }
        })
        .collect_view();
    let view_box = format!("0 0 {W} {H}");
    let title = title.to_owned();
    view! {
        <figure class="chart" id=id.to_owned()>
            <figcaption id=title_id.clone()>{title.clone()}</figcaption>
            <svg viewBox=view_box role="img" aria-labelledby=title_id preserveAspectRatio="xMidYMid meet">
                {grid}
                {bars}
            </svg>
            <ul class="legend">{legend}</ul>
            <details>
                <summary>"The numbers"</summary>
                <table>
                    <thead><tr><th scope="col">"Group"</th>{header}</tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </figure>
    }
    .into_any()
}

fn by_type_groups(round: &RoundScores, value: impl Fn(&aoi_learning::SuccessRates) -> f64) -> Vec<(String, f64)> {
    round
        .by_task_type
        .iter()
        .filter(|(_, r)| r.tasks > 0)
        .map(|(t, r)| ((*t).to_owned(), value(r)))
        .collect()
}

pub fn run_page(viewer: &Viewer, detail: &BenchmarkRunDetail) -> String {
    let run = &detail.run;
    let scores = &detail.scores;
    let k = scores.k;
    let overall = scores.round.overall;
    let title = run.name.clone();
    let heading = run.name.clone();
    let avg_name = format!("avg@{k}");
    let best_name = format!("best@{k}");
    let by_type = {
        let groups = scores
            .round
            .by_task_type
            .iter()
            .filter(|(_, r)| r.tasks > 0)
            .map(|(t, r)| ((*t).to_owned(), vec![r.avg_at_k, r.best_at_k]))
            .chain(std::iter::once(("overall".to_owned(), vec![overall.avg_at_k, overall.best_at_k])))
            .collect();
        bar_chart(
            "by-task-type",
            &format!("Success by task type: {avg_name} against {best_name}"),
            vec![
                Series { name: avg_name.clone(), class: "series-a" },
                Series { name: best_name.clone(), class: "series-b" },
            ],
            groups,
        )
    };
    let evolve = scores.evolve.as_ref().map(|e| {
        let before = by_type_groups(&e.before, |r| r.avg_at_k);
        let after = by_type_groups(&e.after, |r| r.avg_at_k);
        let other = e.after_other_problems.as_ref().map(|o| by_type_groups(o, |r| r.avg_at_k));
        let mut series = vec![
            Series { name: "before".into(), class: "series-a" },
            Series { name: "after (own lessons)".into(), class: "series-b" },
        ];
        if other.is_some() {
            series.push(Series { name: "after (other problems' lessons)".into(), class: "series-c" });
        }
        let mut groups: Vec<(String, Vec<f64>)> = before
            .iter()
            .map(|(t, b)| {
                let mut values = vec![*b, after.iter().find(|(a, _)| a == t).map_or(0.0, |(_, v)| *v)];
                if let Some(other) = &other {
                    values.push(other.iter().find(|(a, _)| a == t).map_or(0.0, |(_, v)| *v));
                }
                (t.clone(), values)
            })
            .collect();
        let mut all = vec![e.before.overall.avg_at_k, e.after.overall.avg_at_k];
        if let Some(o) = &e.after_other_problems {
            all.push(o.overall.avg_at_k);
        }
        groups.push(("overall".to_owned(), all));
        bar_chart("evolve", &format!("Before and after evolve: {avg_name} by task type"), series, groups)
    });
    let tasks = detail.report["tasks"].as_array().cloned().unwrap_or_default();
    let rows = tasks
        .iter()
        .map(|t| {
            let id = t["id"].as_str().unwrap_or_default().to_owned();
            let runs = t["runs"].as_array().cloned().unwrap_or_default();
            let ok = runs.iter().filter(|r| r["success"] == Value::Bool(true)).count();
            let share = format!("{ok}/{}", runs.len());
            let best = if ok > 0 { badge("ok", "solved") } else { badge("alert", "never solved") };
            let href = format!("/console/benchmarks/{}/tasks/{}", run.id, crate::server::encode(&id));
            view! {
                <tr data-task=id.clone()>
                    <td><a href=href>{id.clone()}</a></td>
                    <td>{t["task_type"].as_str().unwrap_or_default().to_owned()}</td>
                    <td>{t["app"].as_str().unwrap_or_default().to_owned()}</td>
                    <td>{share}</td>
                    <td>{best}</td>
                </tr>
            }
        })
        .collect_view();
    let facts = view! {
        <dl class="facts">
            <div><dt>"Suite"</dt><dd>{run.suite.clone()}</dd></div>
            <div><dt>"Policy"</dt><dd>{run.policy.clone()}</dd></div>
            <div><dt>"Runs per task (k)"</dt><dd>{k}</dd></div>
            <div><dt>"Tasks"</dt><dd>{overall.tasks}</dd></div>
            <div><dt>"avg@1"</dt><dd data-testid="avg-at-1">{percent(overall.avg_at_1)}</dd></div>
            <div><dt>{avg_name.clone()}</dt><dd data-testid="avg-at-k">{percent(overall.avg_at_k)}</dd></div>
            <div><dt>{best_name.clone()}</dt><dd data-testid="best-at-k">{percent(overall.best_at_k)}</dd></div>
            <div><dt>"Recorded"</dt><dd>{time(&run.created_at)}" by "{run.recorded_by.clone()}</dd></div>
        </dl>
    };
    document(&title, Some((viewer, Section::Benchmarks)), move || {
        view! {
            <p class="crumbs"><a href="/console/benchmarks">"Benchmarks"</a></p>
            <h1>{heading}</h1>
            {facts}
            {by_type}
            {evolve}
            <h2>"Tasks"</h2>
            <table class="tasks">
                <thead><tr><th scope="col">"Task"</th><th scope="col">"Type"</th><th scope="col">"App"</th><th scope="col">"Successful runs"</th><th scope="col">"best@k"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    })
}

/// The task's entry in the report.
pub fn task_of<'a>(detail: &'a BenchmarkRunDetail, task: &str) -> Option<&'a Value> {
    detail.report["tasks"]
        .as_array()?
        .iter()
        .find(|t| t["id"].as_str() == Some(task))
}

pub fn task_page(viewer: &Viewer, detail: &BenchmarkRunDetail, task: &Value) -> String {
    let run_id = detail.run.id;
    let id = task["id"].as_str().unwrap_or_default().to_owned();
    let runs = task["runs"].as_array().cloned().unwrap_or_default();
    let rows = runs
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let ok = r["success"] == Value::Bool(true);
            let result = if ok { badge("ok", "success") } else { badge("alert", "failure") };
            let trajectory = r.get("trajectory").filter(|t| !t.is_null()).map(|_| {
                let href = format!("/console/benchmarks/{run_id}/tasks/{}/runs/{n}", crate::server::encode(&id));
                view! { <a href=href>"Trajectory"</a> }
            });
            let none = r.get("trajectory").is_none_or(Value::is_null).then(|| view! { <span class="meta">"not kept (--trajectories)"</span> });
            view! {
                <tr data-run-index=n>
                    <td>{n + 1}</td>
                    <td>{result}</td>
                    <td>{r["steps"].as_u64().unwrap_or_default()}</td>
                    <td>{r["seed"].as_u64().unwrap_or_default()}</td>
                    <td>{r["outcome"].as_str().unwrap_or_default().to_owned()}</td>
                    <td>{r["detail"].as_str().unwrap_or_default().to_owned()}</td>
                    <td>{trajectory}{none}</td>
                </tr>
            }
        })
        .collect_view();
    let back = format!("/console/benchmarks/{run_id}");
    let name = detail.run.name.clone();
    let title = id.clone();
    let kind = task["task_type"].as_str().unwrap_or_default().to_owned();
    document(&title, Some((viewer, Section::Benchmarks)), move || {
        view! {
            <p class="crumbs"><a href="/console/benchmarks">"Benchmarks"</a>" / "<a href=back>{name}</a></p>
            <h1>{id}</h1>
            <p class="meta">{kind}</p>
            <table class="task-runs">
                <thead><tr><th scope="col">"Run"</th><th scope="col">"Result"</th><th scope="col">"Steps"</th><th scope="col">"Seed"</th><th scope="col">"Outcome"</th><th scope="col">"Evaluator"</th><th scope="col">"Trajectory"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    })
}

pub fn trajectory_page(viewer: &Viewer, detail: &BenchmarkRunDetail, task: &str, n: usize, run: &Value) -> String {
    let steps: Vec<StepView> = run["trajectory"]["steps"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, step)| StepView {
            index: step["index"].as_i64().and_then(|i| i32::try_from(i).ok()).unwrap_or(i as i32),
            role: step["role"].as_str().unwrap_or_default().to_owned(),
            payload: step,
            created_at: detail.run.created_at,
        })
        .collect();
    let ok = run["success"] == Value::Bool(true);
    let result = if ok { badge("ok", "success") } else { badge("alert", "failure") };
    let evaluator = run["detail"].as_str().unwrap_or_default().to_owned();
    let back = format!("/console/benchmarks/{}/tasks/{}", detail.run.id, crate::server::encode(task));
    let title = format!("{task}, run {}", n + 1);
    let heading = title.clone();
    let task = task.to_owned();
    document(&title, Some((viewer, Section::Benchmarks)), move || {
        view! {
            <p class="crumbs"><a href="/console/benchmarks">"Benchmarks"</a>" / "<a href=back>{task}</a></p>
            <h1>{heading}</h1>
            <p>{result}" "{evaluator}</p>
            {timeline(&steps, None)}
        }
        .into_any()
    })
}
