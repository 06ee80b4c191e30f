//! The `aoi.v1` service implementations: authorize (metadata → principal → proof), convert
//! the request, call one `aoi_platform` function, convert the answer.

use std::pin::Pin;

use aoi_control::Permission as P;
use aoi_control::auth::LoginRequest;
use aoi_platform::approvals::{self, ApprovalQuery, Decision};
use aoi_platform::incidents::{self, CreateIncident, IncidentQuery};
use aoi_platform::sessions::{self, SessionQuery, StartSession};
use aoi_platform::{Platform, tenants};
use futures_util::stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::convert::{self, parse, uuid};
use super::{authorize, pb, status};

/// Every `aoi.v1` service over one platform.
#[derive(Clone)]
pub struct Api {
    pub platform: Platform,
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl pb::auth_service_server::AuthService for Api {
    async fn login(&self, request: Request<pb::LoginRequest>) -> Answer<pb::LoginResponse> {
        let r = request.into_inner();
        let login = LoginRequest {
            tenant: r.tenant,
            username: r.username,
            password: r.password,
        };
        let token = tenants::login(&self.platform, &login)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::LoginResponse {
            access_token: token.access_token,
            expires_in: token.expires_in,
        }))
    }
}

#[tonic::async_trait]
impl pb::incident_service_server::IncidentService for Api {
    async fn create(&self, request: Request<pb::CreateIncidentRequest>) -> Answer<pb::Incident> {
        let p = &self.platform;
        let proof = authorize(
            p,
            &request,
            P::WriteIncidents,
            "/aoi.v1.IncidentService/Create",
        )
        .await?;
        let r = request.into_inner();
        let input = CreateIncident {
            title: r.title,
            severity: r.severity,
            service: r.service,
            namespace: r.namespace,
            fingerprint: r.fingerprint,
            labels: r.labels.into_iter().collect(),
        };
        let incident = incidents::create(p, &proof, input).await.map_err(status)?;
        Ok(Response::new(convert::incident(incident)))
    }

    async fn list(
        &self,
        request: Request<pb::ListIncidentsRequest>,
    ) -> Answer<pb::ListIncidentsResponse> {
        let p = &self.platform;
        let proof = authorize(
            p,
            &request,
            P::ReadIncidents,
            "/aoi.v1.IncidentService/List",
        )
        .await?;
        let r = request.into_inner();
        let query = IncidentQuery {
            state: r
                .state
                .as_deref()
                .map(|s| parse("state", s))
                .transpose()
                .map_err(status)?,
            severity: r.severity,
            service: r.service,
            since: r
                .since
                .as_deref()
                .map(|s| parse("since", s))
                .transpose()
                .map_err(status)?,
            limit: r.limit,
        };
        let list = incidents::list(p, &proof, query).await.map_err(status)?;
        Ok(Response::new(pb::ListIncidentsResponse {
            incidents: list.into_iter().map(convert::incident).collect(),
        }))
    }

    async fn get(&self, request: Request<pb::GetIncidentRequest>) -> Answer<pb::IncidentDetail> {
        let p = &self.platform;
        let proof = authorize(p, &request, P::ReadIncidents, "/aoi.v1.IncidentService/Get").await?;
        let id = uuid("id", &request.get_ref().id).map_err(status)?;
        let detail = incidents::get(p, &proof, id).await.map_err(status)?;
        Ok(Response::new(convert::incident_detail(detail)))
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::SessionEvent, Status>> + Send>>;

#[tonic::async_trait]
impl pb::session_service_server::SessionService for Api {
    async fn start(&self, request: Request<pb::StartSessionRequest>) -> Answer<pb::Session> {
        let p = &self.platform;
        let proof = authorize(p, &request, P::StartSession, "/aoi.v1.SessionService/Start").await?;
        let r = request.get_ref();
        let incident = uuid("incident_id", &r.incident_id).map_err(status)?;
        let environment_id = uuid("environment_id", &r.environment_id).map_err(status)?;
        let session = sessions::start_session(p, &proof, incident, StartSession { environment_id })
            .await
            .map_err(status)?;
        Ok(Response::new(convert::session(session)))
    }

    async fn get(&self, request: Request<pb::GetSessionRequest>) -> Answer<pb::SessionWithSteps> {
        let p = &self.platform;
        let proof = authorize(p, &request, P::ReadSessions, "/aoi.v1.SessionService/Get").await?;
        let id = uuid("id", &request.get_ref().id).map_err(status)?;
        let session = sessions::get_session(p, &proof, id).await.map_err(status)?;
        Ok(Response::new(convert::session_with_steps(session)))
    }

    async fn list(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> Answer<pb::ListSessionsResponse> {
        let p = &self.platform;
        let proof = authorize(p, &request, P::ReadSessions, "/aoi.v1.SessionService/List").await?;
        let r = request.into_inner();
        let query = SessionQuery {
            status: r
                .status
                .as_deref()
                .map(|s| parse("status", s))
                .transpose()
                .map_err(status)?,
            incident_id: r
                .incident_id
                .as_deref()
                .map(|s| uuid("incident_id", s))
                .transpose()
                .map_err(status)?,
        };
        let list = sessions::list_sessions(p, &proof, query)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListSessionsResponse {
            sessions: list.into_iter().map(convert::session).collect(),
        }))
    }

    type StreamEventsStream = EventStream;

    /// The SSE route's stream ([`crate::http::sessions::event_stream`]): persisted steps
    /// replayed as `step` events, then the session's live events of this tenant only.
    async fn stream_events(
        &self,
        request: Request<pb::StreamEventsRequest>,
    ) -> Answer<EventStream> {
        let p = &self.platform;
        let proof = authorize(
            p,
            &request,
            P::ReadSessions,
            "/aoi.v1.SessionService/StreamEvents",
        )
        .await?;
        let id = uuid("session_id", &request.get_ref().session_id).map_err(status)?;
        let events = crate::http::sessions::event_stream(p, &proof, id)
            .await
            .map_err(status)?
            .map(|(kind, data_json)| Ok(pb::SessionEvent { kind, data_json }));
        Ok(Response::new(Box::pin(events)))
    }
}

#[tonic::async_trait]
impl pb::approval_service_server::ApprovalService for Api {
    async fn list(
        &self,
        request: Request<pb::ListApprovalsRequest>,
    ) -> Answer<pb::ListApprovalsResponse> {
        let p = &self.platform;
        let proof = authorize(
            p,
            &request,
            P::ReadApprovals,
            "/aoi.v1.ApprovalService/List",
        )
        .await?;
        let r = request.into_inner();
        let query = ApprovalQuery {
            status: r
                .status
                .as_deref()
                .map(|s| parse("status", s))
                .transpose()
                .map_err(status)?,
        };
        let list = approvals::list_approvals(p, &proof, query)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListApprovalsResponse {
            approvals: list.into_iter().map(convert::approval).collect(),
        }))
    }

    async fn get(&self, request: Request<pb::GetApprovalRequest>) -> Answer<pb::Approval> {
        let p = &self.platform;
        let proof = authorize(p, &request, P::ReadApprovals, "/aoi.v1.ApprovalService/Get").await?;
        let id = uuid("id", &request.get_ref().id).map_err(status)?;
        let approval = approvals::get_approval(p, &proof, id)
            .await
            .map_err(status)?;
        Ok(Response::new(convert::approval(approval)))
    }

    async fn approve(&self, request: Request<pb::DecideRequest>) -> Answer<pb::Approval> {
        self.decide(request, true, "/aoi.v1.ApprovalService/Approve")
            .await
    }

    async fn deny(&self, request: Request<pb::DecideRequest>) -> Answer<pb::Approval> {
        self.decide(request, false, "/aoi.v1.ApprovalService/Deny")
            .await
    }
}

impl Api {
    async fn decide(
        &self,
        request: Request<pb::DecideRequest>,
        approve: bool,
        method: &str,
    ) -> Answer<pb::Approval> {
        let p = &self.platform;
        let proof = authorize(p, &request, P::DecideApproval, method).await?;
        let r = request.into_inner();
        let id = uuid("id", &r.id).map_err(status)?;
        let decision = Decision { reason: r.reason };
        let approval = approvals::decide_approval(p, &proof, id, approve, decision)
            .await
            .map_err(status)?;
        Ok(Response::new(convert::approval(approval)))
    }
}
