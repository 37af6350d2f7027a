//! `/Users`, `/Users/{id}` and `/Users/.search`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use portcullis_scim::query::{ListQuery, SearchRequest};
use portcullis_scim::schema::ResourceSchema;
use portcullis_scim::ScimError;
use portcullis_store::Store;

use portcullis_app::scim::{mapping, search, users as user_ops, Ctx};

use super::auth::{Caller, ReadCtx};
use super::error::{ScimResult, SCIM_CONTENT_TYPE};
use super::{
    header_str, json_response, list_query, not_modified, parse_list_query, read_json,
    resource_response, user_response, written_response,
};
use crate::error::AppError;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/Users")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/Users/.search")
            .route(web::post().to(search_post))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/Users/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete))
            .default_service(web::to(super::method_not_allowed)),
    );
}

async fn list(ctx: ReadCtx, req: HttpRequest) -> ScimResult<HttpResponse> {
    let q = parse_list_query(&req);
    let lookup = q.as_ref().is_ok_and(search::user_lookup);
    let list = move |store: &Store, ctx: &Ctx, q: Result<ListQuery, AppError>| {
        // A bad query is refused only once the key is known good.
        let q = q?;
        Ok(match search::users_text(store, ctx, &q)? {
            Some(text) => Listed::Written(text),
            None => Listed::Page(search::users(store, ctx, &q)?, Box::new(q)),
        })
    };
    let listed = match (lookup, q) {
        (true, Ok(q)) => {
            let query = q.clone();
            ctx.read_known(
                move |known, ctx| Ok(search::shown_lookup(known, ctx, &query)?.map(Listed::Written)),
                move |store, ctx| list(store, ctx, Ok(q)),
            )
            .await?
        }
        (_, q) => ctx.scan(move |store, ctx| list(store, ctx, q)).await?,
    };
    Ok(match listed {
        Listed::Written(text) => HttpResponse::Ok()
            .content_type(SCIM_CONTENT_TYPE)
            .body(text),
        Listed::Page(page, q) => list_answer(page, &q),
    })
}

/// A member list: written whole ([`search::users_text`]), or a page still to project.
enum Listed {
    Written(String),
    Page(search::Page, Box<ListQuery>),
}

async fn answer_list(
    ctx: Ctx,
    state: web::Data<AppState>,
    q: ListQuery,
) -> ScimResult<HttpResponse> {
    let query = q.clone();
    let list = move |store: &_| search::users(store, &ctx, &query);
    let page = state.read(list).await?;
    Ok(list_answer(page, &q))
}

fn list_answer(page: search::Page, q: &ListQuery) -> HttpResponse {
    json_response(
        StatusCode::OK,
        &search::list_response(page, q, ResourceSchema::user()),
    )
}

/// Parses a SearchRequest body into a list query.
pub(crate) async fn search_query(payload: web::Payload) -> ScimResult<ListQuery> {
    let body = read_json(payload).await?;
    let request: SearchRequest = serde_json::from_value(body).map_err(|e| {
        AppError::Scim(ScimError::invalid_syntax(format!(
            "not a SearchRequest: {e}"
        )))
    })?;
    Ok(ListQuery::from_search_request(&request, &super::query_limits()).map_err(AppError::Scim)?)
}

async fn search_post(
    Caller(ctx, _): Caller,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> ScimResult<HttpResponse> {
    let q = search_query(payload).await?;
    answer_list(ctx, state, q).await
}

async fn get(ctx: ReadCtx, req: HttpRequest, id: web::Path<String>) -> ScimResult<HttpResponse> {
    let q = parse_list_query(&req);
    let id = id.into_inner();
    // The default answer needs only the columns and the stored view.
    let plain = q
        .as_ref()
        .is_ok_and(|q| q.attributes.is_empty() && q.excluded_attributes.is_empty());
    let member = id.clone();
    let got = ctx
        .read_known(
            move |known, ctx| {
                if !plain {
                    return Ok(None);
                }
                let Some(member) = user_ops::load_shown(known, ctx, &member)? else {
                    return Ok(None);
                };
                Ok(mapping::shown_text(&member, &ctx.base)
                    .map(|text| Got::Written(member.version, text)))
            },
            move |store, ctx| {
                // A bad query is refused only once the key is known good.
                let q = q?;
                let (row, groups) = user_ops::load_with_groups(store, ctx, &id)?;
                Ok(Got::Row(Box::new((row, groups, ctx.base.clone(), q))))
            },
        )
        .await?;
    let version = match &got {
        Got::Written(version, _) => *version,
        Got::Row(row) => row.0.version,
    };
    if let Some(r) = not_modified(&req, version) {
        return Ok(r);
    }
    Ok(match got {
        Got::Written(version, text) => written_response(version, text),
        Got::Row(row) => {
            let (row, groups, base, q) = *row;
            user_response(&row, &groups, &base, &q)
        }
    })
}

/// A member read for `GET /Users/{id}`: their answer already written, with their version,
/// or their whole row (with groups, base URL and query) to answer from.
enum Got {
    Written(i64, String),
    Row(Box<MemberRead>),
}

type MemberRead = (
    portcullis_store::ScimUserRow,
    Vec<(portcullis_domain::GroupId, String)>,
    String,
    ListQuery,
);

async fn create(
    Caller(ctx, _): Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> ScimResult<HttpResponse> {
    let q = list_query(&req)?;
    let body = read_json(payload).await?;
    let (row, resource) = state
        .write(move |store| user_ops::create(store, &ctx, &body))
        .await?;
    Ok(resource_response(
        StatusCode::CREATED,
        resource,
        row.version,
        ResourceSchema::user(),
        &q,
    ))
}

async fn replace(
    Caller(ctx, _): Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> ScimResult<HttpResponse> {
    let q = list_query(&req)?;
    let body = read_json(payload).await?;
    let if_match = header_str(&req, header::IF_MATCH).map(str::to_owned);
    let id = id.into_inner();
    let base = ctx.base.clone();
    let written = user_ops::replace_via(state.get_ref(), ctx, id, body, if_match).await?;
    Ok(resource_response(
        StatusCode::OK,
        written.resource(&base),
        written.row.version,
        ResourceSchema::user(),
        &q,
    ))
}

async fn patch(
    Caller(ctx, _): Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> ScimResult<HttpResponse> {
    let q = list_query(&req)?;
    let body = read_json(payload).await?;
    let if_match = header_str(&req, header::IF_MATCH).map(str::to_owned);
    let id = id.into_inner();
    let base = ctx.base.clone();
    let written = user_ops::patch_via(state.get_ref(), ctx, id, &body, if_match).await?;
    Ok(resource_response(
        StatusCode::OK,
        written.resource(&base),
        written.row.version,
        ResourceSchema::user(),
        &q,
    ))
}

async fn delete(
    Caller(ctx, _): Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> ScimResult<HttpResponse> {
    let if_match = header_str(&req, header::IF_MATCH).map(str::to_owned);
    let id = id.into_inner();
    state
        .write(move |store| user_ops::delete(store, &ctx, &id, if_match.as_deref()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
