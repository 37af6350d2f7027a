//! `/Groups`, `/Groups/{id}` and `/Groups/.search`; also `POST /.search`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use portcullis_scim::query::ListQuery;
use portcullis_scim::schema::ResourceSchema;

use portcullis_app::scim::{groups as group_ops, search, Ctx};

use super::auth::{Caller, ReadCtx};
use super::error::ScimResult;
use super::{
    header_str, json_response, list_query, not_modified, parse_list_query, read_json,
    resource_response,
};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/.search")
            .route(web::post().to(root_search))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/Groups")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/Groups/.search")
            .route(web::post().to(search_post))
            .default_service(web::to(super::method_not_allowed)),
    )
    .service(
        web::resource("/Groups/{id}")
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(patch))
            .route(web::delete().to(delete))
            .default_service(web::to(super::method_not_allowed)),
    );
}

async fn list(ctx: ReadCtx, req: HttpRequest) -> ScimResult<HttpResponse> {
    let q = parse_list_query(&req);
    let (page, q) = ctx
        .scan(move |store, ctx| {
            // A bad query is refused only once the key is known good.
            let q = q?;
            Ok((search::groups(store, ctx, &q)?, q))
        })
        .await?;
    Ok(list_answer(page, &q))
}

async fn answer_list(
    ctx: Ctx,
    state: web::Data<AppState>,
    q: ListQuery,
) -> ScimResult<HttpResponse> {
    let query = q.clone();
    let page = state
        .read(move |store| search::groups(store, &ctx, &query))
        .await?;
    Ok(list_answer(page, &q))
}

fn list_answer(page: search::Page, q: &ListQuery) -> HttpResponse {
    json_response(
        StatusCode::OK,
        &search::list_response(page, q, ResourceSchema::group()),
    )
}

async fn root_search(
    Caller(ctx, _): Caller,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> ScimResult<HttpResponse> {
    let q = super::users::search_query(payload).await?;
    let body = state
        .read(move |store| search::root(store, &ctx, &q))
        .await?;
    Ok(json_response(StatusCode::OK, &body))
}

async fn search_post(
    Caller(ctx, _): Caller,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> ScimResult<HttpResponse> {
    let q = super::users::search_query(payload).await?;
    answer_list(ctx, state, q).await
}

async fn get(ctx: ReadCtx, req: HttpRequest, id: web::Path<String>) -> ScimResult<HttpResponse> {
    let q = parse_list_query(&req);
    let id = id.into_inner();
    // A group's members grow with the account: its read runs on the blocking pool.
    let (row, resource, q) = ctx
        .scan(move |store, ctx| {
            // A bad query is refused only once the key is known good.
            let q = q?;
            let row = group_ops::load(store, ctx, &id)?;
            let resource = group_ops::resource_of(store, ctx, &row, search::shows_members(&q))?;
            Ok((row, resource, q))
        })
        .await?;
    if let Some(r) = not_modified(&req, row.version) {
        return Ok(r);
    }
    Ok(resource_response(
        StatusCode::OK,
        resource,
        row.version,
        ResourceSchema::group(),
        &q,
    ))
}

async fn create(
    Caller(ctx, _): Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> ScimResult<HttpResponse> {
    let q = list_query(&req)?;
    let members = search::shows_members(&q);
    let body = read_json(payload).await?;
    let (row, resource) = state
        .write(move |store| {
            let row = group_ops::create(store, &ctx, &body)?;
            let resource = group_ops::resource_of(store, &ctx, &row, members)?;
            Ok((row, resource))
        })
        .await?;
    Ok(resource_response(
        StatusCode::CREATED,
        resource,
        row.version,
        ResourceSchema::group(),
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
    let members = search::shows_members(&q);
    let body = read_json(payload).await?;
    let if_match = header_str(&req, header::IF_MATCH).map(str::to_owned);
    let id = id.into_inner();
    let (row, resource) = state
        .write(move |store| {
            let row = group_ops::replace(store, &ctx, &id, &body, if_match.as_deref())?;
            let resource = group_ops::resource_of(store, &ctx, &row, members)?;
            Ok((row, resource))
        })
        .await?;
    Ok(resource_response(
        StatusCode::OK,
        resource,
        row.version,
        ResourceSchema::group(),
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
    let members = search::shows_members(&q);
    let body = read_json(payload).await?;
    let if_match = header_str(&req, header::IF_MATCH).map(str::to_owned);
    let id = id.into_inner();
    let (row, resource) = state
        .write(move |store| {
            let row = group_ops::patch(store, &ctx, &id, &body, if_match.as_deref())?;
            let resource = group_ops::resource_of(store, &ctx, &row, members)?;
            Ok((row, resource))
        })
        .await?;
    Ok(resource_response(
        StatusCode::OK,
        resource,
        row.version,
        ResourceSchema::group(),
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
        .write(move |store| group_ops::delete(store, &ctx, &id, if_match.as_deref()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
