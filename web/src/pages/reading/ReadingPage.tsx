// Placeholder: replaced by the screen's implementation.
export default function ReadingPage() {
  return <h1>ReadingPage</h1>;
}
