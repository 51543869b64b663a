import { expect } from "chai";
import { previewUrl } from "./previews.logic.js";

describe("preview URL from the deployed compose", () => {
  it("takes the first published port, in short or long syntax", () => {
    expect(previewUrl("services:\n  a:\n    image: x\n    ports: ['8081:80']\n", "h")).to.equal("http://h:8081");
    expect(previewUrl("services:\n  a:\n    image: x\n    ports: ['127.0.0.1:8082:80/tcp']\n", "h")).to.equal(
      "http://h:8082",
    );
    expect(previewUrl("services:\n  a:\n    image: x\n    ports: [{ target: 80, published: 8083 }]\n", "h")).to.equal(
      "http://h:8083",
    );
  });

  it("is null without a published port or a compose", () => {
    expect(previewUrl("services:\n  a:\n    image: x\n    ports: ['80']\n", "h")).to.equal(null);
    expect(previewUrl("services:\n  a:\n    image: x\n", "h")).to.equal(null);
    expect(previewUrl(null, "h")).to.equal(null);
  });
});
