import { defineStrings } from "./define";

export default defineStrings({ title: "county" }, { title: "county" });
