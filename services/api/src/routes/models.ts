/**
 * The models endpoints (the seed's Models API) over the MLflow registry:
 *
 *   registerModelRoutes(api, { registry: new ModelRegistry(mlflow) });
 *
 * GET/POST /models, GET/PUT/DELETE /models/{id}. See models/registry.ts for how the seed's fields map
 * onto MLflow (the id is the registered model's name).
 */
import type { ApiRouter } from "../http/endpoint";
import type { ModelRegistry } from "../models/registry";
import { createdModelSchema, createModelBody, listQuery, modelDetailSchema, modelIdParams, modelListSchema, updateModelBody } from "../models/schemas";

export interface ModelRouteDeps {
  registry: ModelRegistry;
}

const notFound = { description: "No such model (MODEL_NOT_FOUND); details.available_models lists up to 20 that exist" };

export function registerModelRoutes(api: ApiRouter, { registry }: ModelRouteDeps): void {
  api.endpoint({
    method: "get",
    path: "/models",
    operationId: "listModels",
    summary: "List the registered models",
    tag: "models",
    access: "read_models",
    rateClass: "models",
    query: listQuery,
    responses: { 200: { description: "A page of models, sorted by name", schema: modelListSchema } },
    handler: async ({ query }) => {
      const { models, total } = await registry.list(query);
      return { body: { models, total, skip: query.skip, limit: query.limit } };
    },
  });

  api.endpoint({
    method: "post",
    path: "/models",
    operationId: "createModel",
    summary: "Register a new model (no version yet)",
    description:
      "Creates the registered model in MLflow with its type, algorithm, hyperparameters, training config and monitoring settings as tags. " +
      "Training runs outside the API: the training pipeline registers each version (with its sha256 tag and run metrics), " +
      "and POST /models/{id}/deploy moves an alias to it. So `version` and `training_job_id` are null here.",
    tag: "models",
    access: "write_models",
    rateClass: "models",
    body: createModelBody,
    responses: { 201: { description: "Created", schema: createdModelSchema }, 409: { description: "A model of that name exists (CONFLICT)" } },
    handler: async ({ body, auditDetail }) => {
      auditDetail({ name: body.name, model_type: body.model_type });
      const created = await registry.create(body);
      const createdAt = created.creation_timestamp ? new Date(created.creation_timestamp).toISOString() : new Date().toISOString();
      return { status: 201, body: { id: created.name, name: created.name, version: null, model_type: body.model_type, status: "created", created_at: createdAt, training_job_id: null } };
    },
  });

  api.endpoint({
    method: "get",
    path: "/models/{id}",
    operationId: "getModel",
    summary: "A model with its versions, their metrics and aliases",
    tag: "models",
    access: "read_models",
    rateClass: "models",
    params: modelIdParams,
    responses: { 200: { description: "The model", schema: modelDetailSchema }, 404: notFound },
    handler: async ({ params }) => ({ body: await registry.get(params.id) }),
  });

  api.endpoint({
    method: "put",
    path: "/models/{id}",
    operationId: "updateModel",
    summary: "Change a model's description, type, algorithm or monitoring settings",
    tag: "models",
    access: "write_models",
    rateClass: "models",
    params: modelIdParams,
    body: updateModelBody,
    responses: { 200: { description: "The model after the change", schema: modelDetailSchema }, 404: notFound },
    handler: async ({ params, body, auditDetail }) => {
      auditDetail({ changed: Object.keys(body) });
      return { body: await registry.update(params.id, body) };
    },
  });

  api.endpoint({
    method: "delete",
    path: "/models/{id}",
    operationId: "deleteModel",
    summary: "Delete a model that nothing serves",
    description: "Refused with 409 MODEL_IN_SERVICE while an alias (champion, challenger) points at one of its versions: serving loads models by alias, so deleting would break it.",
    tag: "models",
    access: "write_models",
    rateClass: "models",
    params: modelIdParams,
    responses: { 204: { description: "Deleted" }, 404: notFound, 409: { description: "An alias points at one of its versions (MODEL_IN_SERVICE)" } },
    handler: async ({ params }) => {
      await registry.delete(params.id);
      return { status: 204 };
    },
  });
}
