import { useEffect, useRef, type ReactNode } from 'react';

/**
 * The page's h1, focused when the page appears: after a client-side navigation the browser does
 * not move focus, so without this a keyboard or screen-reader user would stay on the old link.
 */
export function PageHeading({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus({ preventScroll: true });
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1} className="page-heading">
      {children}
    </h1>
  );
}
