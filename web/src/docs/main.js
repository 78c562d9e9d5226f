// /api/docs: Swagger UI from the npm package swagger-ui-dist, bundled by Vite, so the page
// renders on a machine without internet (FastAPI's default page loads it from a CDN).
import SwaggerUIBundle from "swagger-ui-dist/swagger-ui-es-bundle.js";
import "swagger-ui-dist/swagger-ui.css";

const root = document.getElementById("swagger-ui");
SwaggerUIBundle({ url: root.dataset.url, domNode: root, deepLinking: true, persistAuthorization: true });
