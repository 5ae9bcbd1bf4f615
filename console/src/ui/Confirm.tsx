import { type KeyboardEvent, type ReactNode, useId, useRef, useState } from "react";

/** Tab and Shift+Tab go round the dialog's own controls, never out of it. */
function keepFocusInside(e: KeyboardEvent<HTMLDialogElement>) {
  if (e.key !== "Tab") return;
  const controls = [
    ...e.currentTarget.querySelectorAll<HTMLElement>("button, input, select, textarea, a[href]"),
  ].filter((c) => !c.hasAttribute("disabled"));
  const first = controls[0];
  const last = controls.at(-1);
  if (!first || !last) return;
  if (e.shiftKey && document.activeElement === first) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && document.activeElement === last) {
    e.preventDefault();
    first.focus();
  }
}

/** A button that asks before it acts: a modal dialog (focus moves to its
 * first control, Escape or Cancel closes it, focus returns to the button)
 * whose confirming button runs `onConfirm`. */
export function Confirm({
  label,
  title,
  confirmLabel,
  onConfirm,
  disabled,
  confirmDisabled,
  children,
}: {
  label: string;
  title: string;
  confirmLabel?: string;
  onConfirm: () => void;
  disabled?: boolean;
  /** The confirming button waits for what the dialog asks (a reason). */
  confirmDisabled?: boolean;
  children: ReactNode;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [open, setOpen] = useState(false);
  const titleId = useId();
  const close = () => {
    dialog.current?.close();
    setOpen(false);
  };
  return (
    <>
      <button
        type="button"
        disabled={disabled}
        onClick={() => {
          setOpen(true);
          dialog.current?.showModal();
        }}
      >
        {label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId} onClose={() => setOpen(false)} onKeyDown={keepFocusInside}>
        <h2 id={titleId}>{title}</h2>
        {open && children}
        <div className="actions">
          <button type="button" onClick={close}>
            Cancel
          </button>
          <button
            type="button"
            className="primary"
            disabled={confirmDisabled}
            onClick={() => {
              close();
              onConfirm();
            }}
          >
            {confirmLabel ?? label}
          </button>
        </div>
      </dialog>
    </>
  );
}
