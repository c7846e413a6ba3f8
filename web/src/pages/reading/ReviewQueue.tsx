// Placeholder: replaced by the screen's implementation.
export default function ReviewQueue() {
  return <h1>ReviewQueue</h1>;
}
