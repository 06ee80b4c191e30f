//! Benchmarks: recorded runs, one run's charts and tasks, a task's runs, a run's trajectory.

use aoi_control::{ApiError, Permission};
use aoi_platform::benchmarks;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use uuid::Uuid;

use super::{Console, SignedIn, failed, html};
use crate::pages;

pub(super) fn routes() -> axum::Router<Console> {
    axum::Router::new()
        .route("/console/benchmarks", get(list))
        .route("/console/benchmarks/{id}", get(run))
        .route("/console/benchmarks/{id}/tasks/{task}", get(task))
        .route("/console/benchmarks/{id}/tasks/{task}/runs/{n}", get(trajectory))
}

const BACK: &str = "/console/benchmarks";

async fn list(State(console): State<Console>, who: SignedIn) -> Response {
    let runs = async {
        let proof = who.authorize(&console, Permission::ReadBenchmarks).await?;
        benchmarks::list(&console.platform, &proof).await
    }
    .await;
    match runs {
        Ok(runs) => {
            let viewer = who.viewer(&console).await;
            html(pages::benchmarks::list_page(&viewer, &runs))
        }
        Err(e) => failed(&HeaderMap::new(), &e, "/console/incidents"),
    }
}

async fn load(console: &Console, who: &SignedIn, id: Uuid) -> Result<benchmarks::BenchmarkRunDetail, ApiError> {
    let proof = who.authorize(console, Permission::ReadBenchmarks).await?;
    benchmarks::get(&console.platform, &proof, id).await
}

async fn run(State(console): State<Console>, who: SignedIn, Path(id): Path<Uuid>) -> Response {
    match load(&console, &who, id).await {
        Ok(detail) => {
            let viewer = who.viewer(&console).await;
            html(pages::benchmarks::run_page(&viewer, &detail))
        }
        Err(e) => failed(&HeaderMap::new(), &e, BACK),
    }
}

fn no_task(task: &str) -> ApiError {
    ApiError::NotFound {
        what: format!("task {task} in this run"),
    }
}

async fn task(
    State(console): State<Console>,
    who: SignedIn,
    Path((id, task)): Path<(Uuid, String)>,
) -> Response {
    let outcome = async {
        let detail = load(&console, &who, id).await?;
        let entry = pages::benchmarks::task_of(&detail, &task).cloned().ok_or_else(|| no_task(&task))?;
        Ok::<_, ApiError>((detail, entry))
    }
    .await;
    match outcome {
        Ok((detail, entry)) => {
            let viewer = who.viewer(&console).await;
            html(pages::benchmarks::task_page(&viewer, &detail, &entry))
        }
        Err(e) => failed(&HeaderMap::new(), &e, BACK),
    }
}

async fn trajectory(
    State(console): State<Console>,
    who: SignedIn,
    Path((id, task, n)): Path<(Uuid, String, usize)>,
) -> Response {
    let outcome = async {
        let detail = load(&console, &who, id).await?;
        let entry = pages::benchmarks::task_of(&detail, &task).ok_or_else(|| no_task(&task))?;
        let run = entry["runs"]
            .get(n)
            .filter(|r| r.get("trajectory").is_some_and(|t| !t.is_null()))
            .cloned()
            .ok_or_else(|| ApiError::NotFound {
                what: format!("a kept trajectory of run {} of task {task}", n + 1),
            })?;
        Ok::<_, ApiError>((detail, run))
    }
    .await;
    match outcome {
        Ok((detail, run)) => {
            let viewer = who.viewer(&console).await;
            html(pages::benchmarks::trajectory_page(&viewer, &detail, &task, n, &run))
        }
        Err(e) => failed(&HeaderMap::new(), &e, BACK),
    }
}
