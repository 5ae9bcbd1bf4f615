import { useState } from "react";

/** Cursor paging: the cursors of the pages behind the current one. */
export function useCursors() {
  const [cursors, setCursors] = useState<string[]>([]);
  return {
    /** The current page's cursor; none for the first. */
    cursor: cursors.at(-1),
    /** Back to the first page (after a filter changed). */
    reset: () => setCursors([]),
    back: () => setCursors(cursors.slice(0, -1)),
    forward: (next: string) => setCursors([...cursors, next]),
    hasPrevious: cursors.length > 0,
  };
}

/** Previous and next page, as far as there are pages. */
export function Pager({ paging, next }: { paging: ReturnType<typeof useCursors>; next?: string | null }) {
  return (
    <nav aria-label="Pages">
      {paging.hasPrevious && (
        <button type="button" onClick={paging.back}>
          Previous page
        </button>
      )}
      {next && (
        <button type="button" onClick={() => paging.forward(next)}>
          Next page
        </button>
      )}
    </nav>
  );
}
