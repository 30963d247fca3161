/** MLmodel parsing lives in @mlops/common (the platform API's deploy gate reads model directories the same way). */
export { ModelFormatError, parseMlmodel, type FeatureColumn, type ModelSpec } from "@mlops/common";
