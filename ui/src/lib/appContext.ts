import { createContext } from 'svelte';
import type { AppModel } from './model.svelte';

/** The app model, set by App.svelte for every component below it. */
export const [getModel, setModel] = createContext<AppModel>();
